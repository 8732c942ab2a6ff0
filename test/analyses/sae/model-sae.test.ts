/**
 * The model-side SAE analyses on the real stories260K model (CPU backend): activation collection
 * as Arrow batches with shuffling, evaluation with the reconstruction spliced in, feature
 * browsing, steering / clamping / ablation hooks, and a short training run.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../../kernels/tensor';
import { HookError } from '../../../runtime/hooks';
import type { LlamaModel } from '../../../runtime/model/llama';
import { buildTokenStream } from '../../../runtime/text';
import type { Llama2cTokenizer } from '../../../runtime/tokenizers/llama2c-tokenizer';
import type { LoadedSae } from '../../../analyses/sae/codec';
import {
  activationBatches,
  activationRows,
  checkSaeHook,
  collectActivations,
  shuffleActivations,
  type ActivationTypes,
} from '../../../analyses/sae/collect';
import { evaluateSae, evaluateTranscoder, klRows, logSoftmaxRows } from '../../../analyses/sae/evaluate';
import { transcoderForward, type LoadedTranscoder } from '../../../analyses/sae/pretrained';
import { crossEntropyRows } from '../../../runtime/eval/loss';
import {
  browseFeatures,
  clampHook,
  documentOf,
  featureAblationLoss,
  generateWithHook,
  logitEffects,
  nearestFeatures,
  promptLatents,
  readUnembedding,
  steeringHook,
} from '../../../analyses/sae/features';
import { trainSae } from '../../../analyses/sae/train';
import type { RecordBatch } from 'apache-arrow';
import { sharedPath, TINYSTORIES_VALID } from '../../helpers/shared-paths';
import { loadStories260K } from '../../helpers/stories260k';

const HOOK = 'blocks.2.hook_resid_post';
let model: LlamaModel;
let tokenizer: Llama2cTokenizer;
let text: string;

beforeAll(() => {
  ({ model, tokenizer } = loadStories260K());
  text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
    .split('<|endoftext|>')
    .slice(0, 40)
    .join('<|endoftext|>');
});

/** An exact SAE: latents 2d and 2d+1 are the positive and negative parts of dimension d. */
function exactSae(dIn: number): LoadedSae {
  const dSae = 2 * dIn;
  const wDec = new Float32Array(dSae * dIn);
  const wEnc = new Float32Array(dIn * dSae);
  for (let d = 0; d < dIn; d++) {
    wDec[2 * d * dIn + d] = 1;
    wDec[(2 * d + 1) * dIn + d] = -1;
    wEnc[d * dSae + 2 * d] = 1;
    wEnc[d * dSae + 2 * d + 1] = -1;
  }
  return {
    cfg: { kind: 'relu', dIn, dSae, hookName: HOOK, normalizeDecoder: true },
    params: { wEnc, bEnc: new Float32Array(dSae), wDec, bDec: new Float32Array(dIn) },
  };
}

async function collectAll(it: AsyncIterable<RecordBatch<ActivationTypes>>) {
  const out: ReturnType<typeof activationRows>[] = [];
  for await (const b of it) out.push(activationRows(b));
  return out;
}

describe('collectActivations', () => {
  it('streams Arrow batches of at most chunkRows rows that keep each row’s token context', async () => {
    const stream = buildTokenStream(tokenizer, text);
    const batches: RecordBatch<ActivationTypes>[] = [];
    for await (const b of collectActivations(model, stream, {
      hook: checkSaeHook(model.config, HOOK),
      maxWindows: 2,
      chunkRows: 300,
    }))
      batches.push(b);
    expect(batches.map((b) => b.numRows)).toEqual([300, 300, 300, 124]);
    expect(batches[0]!.schema.fields.map((f) => f.name)).toEqual([
      'activation',
      'token',
      'position',
      'window',
      'doc',
    ]);
    expect(batches[0]!.schema.metadata.get('sparsebook.hook')).toBe(HOOK);
    const rows = batches.map((b) => activationRows(b));
    const all = {
      token: rows.flatMap((r) => Array.from(r.token)),
      position: rows.flatMap((r) => Array.from(r.position)),
      window: rows.flatMap((r) => Array.from(r.window)),
      doc: rows.flatMap((r) => Array.from(r.doc)),
    };
    for (let i = 0; i < 1024; i++) {
      expect(all.token[i]).toBe(stream.tokens[i]);
      expect(all.position[i]).toBe(i % 512);
      expect(all.window[i]).toBe(Math.floor(i / 512));
      const doc = stream.documentStarts.filter((s) => s <= i).length - 1;
      expect(all.doc[i]).toBe(doc);
    }
    // The activation column is what the hook sees in the window's forward pass.
    let direct: Float32Array | undefined;
    const logits = await model.forward(stream.tokens.subarray(512, 1024), {
      hooks: { [HOOK]: async (t: Tensor<'f32'>) => void (direct = await model.backend.read(t)) },
    });
    model.backend.dispose(logits);
    const secondWindowRow5 = rows[1]!.activation.subarray((512 + 5 - 300) * 64, (512 + 6 - 300) * 64);
    expect(Array.from(secondWindowRow5)).toEqual(Array.from(direct!.subarray(5 * 64, 6 * 64)));
  });

  it('shuffles through a seeded buffer: every row once, reproducible, seed-dependent', async () => {
    const stream = buildTokenStream(tokenizer, text);
    const src = () =>
      collectActivations(model, stream, {
        hook: checkSaeHook(model.config, HOOK),
        maxWindows: 2,
        chunkRows: 256,
      });
    const key = (rs: ReturnType<typeof activationRows>[]) =>
      rs.flatMap((r) => Array.from(r.window, (w, i) => w * 512 + r.position[i]!));
    const a = key(await collectAll(shuffleActivations(src(), { seed: 1, bufferRows: 200, chunkRows: 100 })));
    const b = key(await collectAll(shuffleActivations(src(), { seed: 1, bufferRows: 200, chunkRows: 100 })));
    const c = key(await collectAll(shuffleActivations(src(), { seed: 2, bufferRows: 200, chunkRows: 100 })));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1024 }, (_, i) => i));
    expect(a.slice(0, 50)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    const sizes: number[] = [];
    for await (const x of activationBatches(src(), 400)) sizes.push(x.length / 64);
    expect(sizes).toEqual([400, 400, 224]);
  });

  it('rejects a bad hook name, listing the valid ones', () => {
    expect(() => checkSaeHook(model.config, 'blocks.7.hook_resid_post')).toThrow(HookError);
    expect(() => checkSaeHook(model.config, 'blocks.2.resid')).toThrow(/L in 0–4 .*hook_resid_post/);
    expect(() => checkSaeHook(model.config, 'blocks.0.attn.hook_pattern')).toThrow(HookError);
    expect(() => checkSaeHook(model.config, 'blocks.0.attn.hook_attn_scores')).toThrow(HookError);
    expect(() => checkSaeHook(model.config, 'ln_final.hook_normalized')).not.toThrow();
  });
});

describe('evaluateSae', () => {
  it('an exact SAE recovers all the loss: EV 1, spliced = clean, loss recovered 1', async () => {
    const r = await evaluateSae(model, tokenizer, text, exactSae(64), { maxWindows: 1 });
    expect(r.tokens).toBe(512);
    expect(r.explained_variance).toBeCloseTo(1, 6);
    expect(r.loss_spliced).toBeCloseTo(r.loss_clean, 4);
    expect(r.loss_zero_ablated).toBeGreaterThan(r.loss_clean + 1);
    expect(r.loss_recovered).toBeCloseTo(1, 3);
    expect(r.l0).toBeGreaterThan(60);
    // SAELens's scores: an exact SAE leaves the next-token distribution unchanged.
    expect(r.ce_loss_score).toBe(r.loss_recovered);
    expect(r.kl_div_with_sae).toBeLessThan(1e-6);
    expect(r.kl_div_with_ablation).toBeGreaterThan(0.5);
    expect(r.kl_div_score).toBeCloseTo(1, 5);
  });

  it('a lossy SAE scores below 1 on KL, and its KL agrees with a direct computation', async () => {
    const sae = exactSae(64);
    // Halve the decoder: the reconstruction is x/2 (+ half the bias), a real loss of information.
    sae.params.wDec = sae.params.wDec.map((w) => w / 2);
    const r = await evaluateSae(model, tokenizer, text, sae, { maxWindows: 1 });
    expect(r.kl_div_score).toBeLessThan(0.999);
    expect(r.kl_div_score).toBeGreaterThan(0);
    expect(r.kl_div_with_sae).toBeGreaterThan(1e-4);
    expect(
      klRows(logSoftmaxRows(Float32Array.of(0, 0), 2), logSoftmaxRows(Float32Array.of(Math.log(3), 0), 2), 2),
    ).toBeCloseTo(0.5 * Math.log(0.5 / 0.75) + 0.5 * Math.log(0.5 / 0.25), 6);
  });

  it('a transcoder spliced in: an exact one recovers everything; a real one matches splicing by hand', async () => {
    // Exact: read and write blocks.2.hook_mlp_out through the ±identity dictionary.
    const exact = exactSae(64);
    const tc = (
      hookIn: string,
      hookOut: string,
      p: LoadedTranscoder['params'],
      dSae: number,
    ): LoadedTranscoder => ({
      kind: 'relu',
      dIn: 64,
      dOut: 64,
      dSae,
      hookIn,
      hookOut,
      params: p,
    });
    const same = await evaluateTranscoder(
      model,
      tokenizer,
      text,
      tc('blocks.2.hook_mlp_out', 'blocks.2.hook_mlp_out', exact.params, 128),
      { maxWindows: 1 },
    );
    expect(same.explained_variance).toBeCloseTo(1, 6);
    expect(same.loss_recovered).toBeCloseTo(1, 3);
    expect(same.kl_div_score).toBeCloseTo(1, 5);
    // A transcoder from the MLP's input to its output (random weights): the spliced loss equals
    // replacing hook_mlp_out by transcoderForward of ln2.hook_normalized by hand.
    const rnd = (n: number, seed: number) =>
      Float32Array.from({ length: n }, (_, i) => 0.1 * Math.sin(seed * 1000 + i * 1.7));
    const real = tc(
      'blocks.1.ln2.hook_normalized',
      'blocks.1.hook_mlp_out',
      { wEnc: rnd(64 * 32, 1), bEnc: rnd(32, 2), wDec: rnd(32 * 64, 3), bDec: rnd(64, 4) },
      32,
    );
    const r = await evaluateTranscoder(model, tokenizer, text, real, { maxWindows: 1 });
    expect(r.hook_in).toBe('blocks.1.ln2.hook_normalized');
    const stream = buildTokenStream(tokenizer, text);
    const S = model.config.seqLen;
    let x!: Float32Array;
    const logits = await model.forward(stream.tokens.subarray(0, S), {
      hooks: {
        'blocks.1.ln2.hook_normalized': async (t) => void (x = await model.backend.read(t)),
        'blocks.1.hook_mlp_out': (t) =>
          model.backend.tensor<'f32'>(transcoderForward(real, x).output, t.shape),
      },
    });
    const byHand = crossEntropyRows(
      await model.backend.read(logits),
      model.config.vocabSize,
      stream.tokens.subarray(1, S + 1),
    );
    model.backend.dispose(logits);
    expect(r.loss_spliced).toBeCloseTo(byHand.reduce((a, b) => a + b, 0) / byHand.length, 5);
    expect(r.loss_spliced).toBeGreaterThan(r.loss_clean);
  });

  it('a d_in mismatch is a clear error', async () => {
    const sae = exactSae(32);
    await expect(evaluateSae(model, tokenizer, text, sae, { maxWindows: 1 })).rejects.toThrow(
      /d_in is 32 but the activations at blocks\.2\.hook_resid_post have width 64/,
    );
  });
});

describe('documentOf', () => {
  it('finds the document a stream index falls in and the position there', () => {
    expect(documentOf([0, 5, 9], 0)).toEqual({ document: 0, documentPosition: 0 });
    expect(documentOf([0, 5, 9], 7)).toEqual({ document: 1, documentPosition: 2 });
    expect(documentOf([0, 5, 9], 9)).toEqual({ document: 2, documentPosition: 0 });
    expect(documentOf([0, 5, 9], 40)).toEqual({ document: 2, documentPosition: 31 });
  });
});

describe('features', () => {
  it('browses features: sorted bounded top contexts whose centre is the activation', async () => {
    const sae = exactSae(64);
    const b = await browseFeatures(model, tokenizer, text, sae, { maxWindows: 1, topN: 3, contextTokens: 2 });
    expect(b.tokens).toBe(512);
    expect(b.list.numRows).toBe(128);
    let sumDensity = 0;
    for (let j = 0; j < 128; j++) {
      sumDensity += b.density[j]!;
      const ctx = b.topContexts[j]!;
      expect(ctx.length).toBeLessThanOrEqual(3);
      for (let i = 1; i < ctx.length; i++)
        expect(ctx[i]!.activation).toBeLessThanOrEqual(ctx[i - 1]!.activation);
      if (ctx[0]) {
        expect(ctx[0].activation).toBe(b.maxActivation[j]);
        expect(ctx[0].activations[ctx[0].center]).toBe(ctx[0].activation);
        expect(ctx[0].tokens.length).toBeLessThanOrEqual(5);
      }
    }
    // Each context names its token as the notebook's selection does: document, position in it.
    const docs = text
      .split('<|endoftext|>')
      .map((d) => d.trim())
      .filter(Boolean);
    let checked = 0;
    for (const c of b.topContexts.flat()) {
      const ids = tokenizer.encode(docs[c.document]!, { bos: true });
      expect(ids[c.documentPosition]).toBe(c.tokenIds[c.center]);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    expect(new Set(b.topContexts.flat().map((c) => c.document)).size).toBeGreaterThan(1);
    // Σ density = mean active latents per token (each dimension is either + or −, rarely 0).
    expect(sumDensity).toBeGreaterThan(60);
    expect(b.histograms.reduce((a, c) => a + c, 0)).toBe(Math.round(sumDensity * 512));
  });

  it('logit effects are W_U·(W_dec[f] ⊙ g); nearest features by decoder cosine', async () => {
    const sae = exactSae(64);
    const u = await readUnembedding(model);
    const e = logitEffects(sae, u, tokenizer, 6, 5); // latent 6 = +e_3
    for (let t = 0; t < 10; t++) expect(e.logits[t]).toBeCloseTo(u.wU[t * 64 + 3]! * u.normWeight[3]!, 5);
    expect(e.positive[0]!.logit).toBeGreaterThanOrEqual(e.positive[4]!.logit);
    expect(e.negative[0]!.logit).toBeLessThanOrEqual(e.negative[4]!.logit);
    const near = nearestFeatures(sae, 6, 200);
    expect(near[near.length - 1]).toEqual({ feature: 7, cosine: -1 });
    expect(near[0]!.cosine).toBe(0);
  });

  it('prompt view, clamping (keeps the error term), steering and ablation', async () => {
    const sae = exactSae(64);
    const p = await promptLatents(model, tokenizer, sae, 'Once upon a time', { top: 3 });
    expect(p[0]!.token).toBe('<s>');
    expect(
      p
        .slice(1)
        .map((t) => t.token)
        .join(''),
    ).toBe('Once upon a time');
    expect(p[1]!.features.length).toBe(3);

    // Clamping a feature to the value it already has changes nothing; α = 0 steering neither.
    const noop = await generateWithHook(model, tokenizer, sae, steeringHook(sae, 0, 0), {
      prompt: 'Once',
      steps: 20,
    });
    expect(noop.steered.text).toBe(noop.baseline.text);
    const strong = await generateWithHook(model, tokenizer, sae, steeringHook(sae, 6, 40), {
      prompt: 'Once',
      steps: 20,
    });
    expect(strong.steered.text).not.toBe(strong.baseline.text);

    const x = new Float32Array(2 * 64).map((_, i) => Math.sin(i));
    const backend = model.backend;
    const t = backend.tensor<'f32'>(x, [2, 64]);
    const ctx = { name: HOOK, layer: 2, pos0: 0, backend };
    const y = await backend.read((await clampHook(sae, 6, 5)(t, ctx)) as Tensor<'f32'>);
    for (let d = 0; d < 64; d++) expect(y[d]).toBeCloseTo(d === 3 ? 5 : x[d]!, 5); // x[3] = sin 3 > 0
    backend.dispose(t);

    const abl = await featureAblationLoss(model, tokenizer, text, sae, 6, { maxWindows: 1 });
    expect(abl.fired).toBeGreaterThan(0);
    expect(Math.abs(abl.delta)).toBeGreaterThan(0);
  });
});

describe('trainSae', () => {
  it('TopK k=8, 60 steps on 4096 rows: held-out EV > 0.5 (weaker bound than the bench run), curve per step', async () => {
    const progress: number[] = [];
    let paused = 0;
    const r = await trainSae(model, tokenizer, text, {
      hook: HOOK,
      kind: 'topk',
      k: 8,
      expansion: 4,
      steps: 60,
      batchSize: 256,
      lr: 3e-3,
      maxRows: 4096,
      firstWindow: 1,
      onProgress: (p) => progress.push(p.step),
      waitIfPaused: async () => void paused++,
    });
    expect(paused).toBe(60);
    expect(progress).toHaveLength(60);
    expect(r.curve.numRows).toBe(60);
    expect(r.curve.schema.fields.map((f) => f.name)).toEqual(['step', 'loss', 'mse', 'l0', 'dead_fraction']);
    expect(r.epochs).toBeGreaterThan(3);
    expect(r.sae.cfg.dSae).toBe(256);
    const e = await evaluateSae(model, tokenizer, text, r.sae, { maxWindows: 1 });
    console.log(
      `small TopK: held-out EV ${e.explained_variance.toFixed(3)}, L0 ${e.l0}, recovered ${e.loss_recovered.toFixed(3)}`,
    );
    expect(e.explained_variance).toBeGreaterThan(0.5);
    expect(e.l0).toBeLessThanOrEqual(8);
    expect(e.loss_recovered).toBeGreaterThan(0.5);
  });

  it('is seeded: the same seed gives the same parameters; ITDA builds a dictionary of ≤ dSae atoms', async () => {
    const opts = {
      hook: HOOK,
      kind: 'topk' as const,
      k: 4,
      expansion: 2,
      steps: 5,
      batchSize: 128,
      maxRows: 1024,
      seed: 3,
    };
    const a = await trainSae(model, tokenizer, text, opts);
    const b = await trainSae(model, tokenizer, text, opts);
    expect(Array.from(a.sae.params.wDec)).toEqual(Array.from(b.sae.params.wDec));
    const it = await trainSae(model, tokenizer, text, {
      hook: HOOK,
      kind: 'itda',
      k: 8,
      expansion: 2,
      maxRows: 1024,
    });
    expect(it.sae.itda!.dict.size).toBeLessThanOrEqual(128);
    const e = await evaluateSae(model, tokenizer, text, it.sae, { maxWindows: 1, firstWindow: 2 });
    expect(e.l0).toBeLessThanOrEqual(8);
    expect(e.explained_variance).toBeGreaterThan(0.3);
  });

  it('can be cancelled', async () => {
    const ac = new AbortController();
    const p = trainSae(model, tokenizer, text, {
      hook: HOOK,
      kind: 'relu',
      steps: 50,
      batchSize: 64,
      maxRows: 512,
      signal: ac.signal,
      onProgress: (s) => {
        if (s.step === 2) ac.abort();
      },
    });
    await expect(p).rejects.toThrow();
  });
});
