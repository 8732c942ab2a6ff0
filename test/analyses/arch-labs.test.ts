/**
 * The analysis labs on real architectures other than Llama: the GPT-2, Gemma 3 and Qwen2-MoE
 * fixture folders (test/fixtures/arch, loaded as the worker loads a picked folder: config.json,
 * model.safetensors, tokenizer.json, tokenizer_config.json) through the entry points the worker
 * runs (workers/*-jobs.ts, which the CLI commands share the analyses with), on the CPU backend:
 * attention probes (and Gemma 3's sliding windows), a pruning sweep, SAE training and MoE routing
 * statistics. GPT-2 has learned positions, LayerNorm and a plain FFN (no w3); Gemma 3 has
 * q = nHeads·headDim = 64 ≠ dim = 48, sandwich norms, qk-norm and 16-token windows in three of
 * its four layers; Qwen2-MoE has 8 routed experts (top-2) plus a shared expert.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { hookChoices } from '../../app/cells/sae/sae-kind';
import { forEachPattern } from '../../analyses/attention/collect-patterns';
import { bucketRange } from '../../analyses/attention/probe-metrics';
import { HEAD_PROBE_COLUMNS } from '../../analyses/attention/probe-tables';
import { pruneModel } from '../../analyses/pruning/prune-model';
import { preparePruningText } from '../../analyses/pruning/sweep';
import { checkSaeHook } from '../../analyses/sae/collect';
import type { LoadedModel } from '../../runtime';
import { LINEAR_WEIGHTS } from '../../runtime/model/llama';
import { tableRows } from '../../runtime/tables';
import { maskJob, probeJob, sweepJob } from '../../workers/attention-jobs';
import { moeRoutingJob } from '../../workers/moe-jobs';
import { PruningStore, pruningExportJob, pruningMaskJob, pruningSweepJob } from '../../workers/pruning-jobs';
import { SaeStore, saeTrainJob } from '../../workers/sae-jobs';
import type { ArchFixtureName } from '../helpers/arch-fixtures';
import { loadArchFolder } from '../helpers/arch-folders';
import { sharedPath, TINYSTORIES_VALID } from '../helpers/shared-paths';
import { parseSparsities } from '../../analyses/pruning/sparsities';

const LABS = ['gpt2', 'gemma3', 'qwen2_moe'] as const satisfies readonly ArchFixtureName[];
type Lab = (typeof LABS)[number];

/** What each fixture is, from its config.json (checked against the loaded model below). */
const EXPECTED: Record<Lab, { hf: string; nLayers: number; linears: string[] }> = {
  gpt2: { hf: 'GPT2LMHeadModel', nLayers: 2, linears: ['wq', 'wk', 'wv', 'wo', 'w1', 'w2'] },
  gemma3: { hf: 'Gemma3ForCausalLM', nLayers: 4, linears: [...LINEAR_WEIGHTS] },
  qwen2_moe: { hf: 'Qwen2MoeForCausalLM', nLayers: 2, linears: ['wq', 'wk', 'wv', 'wo'] },
};

const root = path.resolve(import.meta.dirname, '../..');
const backend = createCpuBackend();
const loaded = new Map<Lab, LoadedModel>();
let stories: string;

beforeAll(() => {
  for (const name of LABS) loaded.set(name, loadArchFolder(backend, name));
  stories = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
    .split('<|endoftext|>')
    .slice(0, 24)
    .join('<|endoftext|>');
});

const lab = (name: Lab) => loaded.get(name)!;

describe.each(LABS)('%s', (name) => {
  it('loads from its folder as the HF architecture it is, with the linears it has', () => {
    const { model, info } = lab(name);
    expect(info.hfArchitecture).toBe(EXPECTED[name].hf);
    expect(info.nLayers).toBe(EXPECTED[name].nLayers);
    expect(info.architecture).toBe(name === 'qwen2_moe' ? 'mixtral' : 'llama');
    expect([...model.linearWeights]).toEqual(EXPECTED[name].linears);
    // The SAE cell offers exactly the collectable hooks this architecture has.
    const hooks = hookChoices(info);
    for (const h of hooks) expect(() => checkSaeHook(model.config, h), h).not.toThrow();
    expect(hooks.some((h) => h.endsWith('attn.hook_rot_q'))).toBe(name !== 'gpt2');
    expect(hooks).toContain(`blocks.${info.nLayers - 1}.hook_resid_post`);
  });

  it('attention probes: one row per head, every metric in its range', async () => {
    const { model, tokenizer } = lab(name);
    const { nLayers, nHeads, seqLen } = model.config;
    const r = await probeJob(model, tokenizer, { text: stories, maxWindows: 2 });
    expect(r.summary).toMatchObject({ windows: 2, tokens: 2 * seqLen, nLayers, nHeads });
    const rows = tableRows<Record<string, number>>(r.heads);
    expect(rows).toHaveLength(nLayers * nHeads);
    const C = HEAD_PROBE_COLUMNS;
    const ks = r.heads.schema.fields.map((f) => f.name).filter((n) => n.startsWith('coverage_top_'));
    const buckets = r.heads.schema.fields.map((f) => f.name).filter((n) => n.startsWith('locality_'));
    const line: string[] = [];
    for (const h of rows) {
      expect(h[C.rows]).toBe(2 * seqLen);
      expect(h[C.entropy]).toBeGreaterThanOrEqual(0);
      expect(h[C.entropy]).toBeLessThanOrEqual(Math.log(seqLen) + 1e-5);
      expect(h[C.normalizedEntropy]).toBeGreaterThanOrEqual(0);
      expect(h[C.normalizedEntropy]).toBeLessThanOrEqual(1 + 1e-5);
      expect(h[C.sinkMass]).toBeGreaterThanOrEqual(0);
      expect(h[C.sinkMass]).toBeLessThanOrEqual(1 + 1e-6);
      expect(h[C.meanDistance]).toBeGreaterThanOrEqual(0);
      expect(h[C.meanDistance]).toBeLessThanOrEqual(seqLen - 1);
      expect(h[C.k90]).toBeLessThanOrEqual(h[C.k95]! + 1e-6);
      expect(h[C.k95]).toBeLessThanOrEqual(h[C.k99]! + 1e-6);
      const coverage = ks.map((k) => h[k]!);
      for (let i = 1; i < coverage.length; i++)
        expect(coverage[i]).toBeGreaterThanOrEqual(coverage[i - 1]! - 1e-6);
      expect(coverage.at(-1)).toBeLessThanOrEqual(1 + 1e-5);
      expect(buckets.reduce((a, b) => a + h[b]!, 0)).toBeCloseTo(1, 4);
      for (const c of [C.vertical, C.slash]) {
        expect(h[c]).toBeGreaterThanOrEqual(0);
        expect(h[c]).toBeLessThanOrEqual(1 + 1e-6);
      }
      line.push(`L${h[C.layer]}H${h[C.head]} ${h[C.entropy]!.toFixed(2)}`);
    }
    console.log(`${name} probe entropies (nats, log T = ${Math.log(seqLen).toFixed(2)}): ${line.join(', ')}`);
  });

  it('attention masks: a family applied to one document and a small sweep give finite losses', async () => {
    const { model, tokenizer } = lab(name);
    const doc = stories.split('<|endoftext|>')[1]!;
    const m = await maskJob(model, tokenizer, { text: doc, family: 'topk', budget: 0.25, layer: 0, head: 0 });
    expect(m.summary.recall).toBeGreaterThan(0);
    expect(m.summary.recall).toBeLessThanOrEqual(1 + 1e-6);
    const s = await sweepJob(model, tokenizer, {
      text: stories,
      families: ['topk', 'window-sink'],
      budgets: [0.25],
      maxWindows: 1,
    });
    expect(s.points.numRows).toBe(2);
    for (const p of tableRows<{ loss: number }>(s.points)) expect(Number.isFinite(p.loss)).toBe(true);
  });

  it('pruning sweep: magnitude and Wanda, unstructured and 2:4, over the linears the model has', async () => {
    const { model, tokenizer } = lab(name);
    const store = new PruningStore();
    const r = await pruningSweepJob(model, tokenizer, store, {
      cellId: 'prune',
      text: stories,
      methods: ['magnitude', 'wanda'],
      patterns: ['unstructured', '2:4'],
      sparsities: parseSparsities([0.5]),
      calibrationWindows: 2,
      maxWindows: 2,
      allocation: 'uniform',
    });
    const linears = EXPECTED[name].linears;
    expect(r.summary.matrices).toEqual(linears);
    expect(r.summary.exportable).toBe(false);
    const points = tableRows<{
      method: string;
      pattern: string;
      sparsity: number;
      loss: number;
      agreement: number;
      nonzeros: number;
      total: number;
    }>(r.points);
    expect(points.map((p) => `${p.method} ${p.pattern}`)).toEqual([
      'dense dense',
      'magnitude unstructured',
      'wanda unstructured',
      'magnitude 2:4',
      'wanda 2:4',
    ]);
    const total = linears.reduce((a, n) => {
      const [rows, cols] = model.weightShape(n as (typeof LINEAR_WEIGHTS)[number]);
      return a + rows * cols;
    }, 0);
    const dense = points[0]!;
    for (const p of points) {
      expect(Number.isFinite(p.loss)).toBe(true);
      expect(p.total).toBe(total * model.config.nLayers);
      expect(p.agreement).toBeGreaterThanOrEqual(0);
      expect(p.agreement).toBeLessThanOrEqual(1);
      if (p.method === 'dense') continue;
      expect(p.nonzeros).toBe(p.total / 2);
      expect(p.loss).not.toBe(dense.loss);
    }
    // Every matrix of every block is half pruned, and only the model's own matrices are listed.
    const layerRows = tableRows<{ layer: number; matrix: string; matrix_sparsity: number }>(r.layers);
    expect(layerRows).toHaveLength(4 * model.config.nLayers * linears.length);
    for (const l of layerRows) {
      expect(linears).toContain(l.matrix);
      expect(l.matrix_sparsity).toBe(0.5);
    }
    console.log(
      `${name} pruning losses: ${points.map((p) => `${p.method} ${p.pattern} ${p.loss.toFixed(4)}`).join(', ')}`,
    );

    // A point's matrix view knows the model's matrices; the export refuses a non-Llama model.
    const point = { cellId: 'prune', sweepId: r.summary.sweepId, variant: 2 };
    const last = linears.at(-1)!;
    const mask = await pruningMaskJob(store, { ...point, layer: 0, matrix: last });
    expect(mask.summary).toMatchObject({ matrix: last, pruned: true });
    expect(mask.summary.nonzeros).toBe((mask.summary.rows * mask.summary.cols) / 2);
    if (name !== 'gemma3') {
      await expect(pruningMaskJob(store, { ...point, layer: 0, matrix: 'w3' })).rejects.toThrow(
        `matrix must be one of this model's ${linears.join(', ')}`,
      );
    }
    await expect(pruningExportJob(store, point)).rejects.toThrow(
      new RegExp(`only dense Llama-architecture models fit, and this model is a ${EXPECTED[name].hf}`),
    );
  });

  it('SAE training at the middle layer’s hook_resid_post: the loss decreases', async () => {
    const { model, tokenizer } = lab(name);
    const hook = `blocks.${Math.floor(model.config.nLayers / 2)}.hook_resid_post`;
    const r = await saeTrainJob(model, tokenizer, new SaeStore(), name, {
      cellId: 'sae',
      text: stories,
      hook,
      kind: 'topk',
      k: 8,
      expansion: 4,
      steps: 48,
      batchSize: 128,
      lr: 1e-2,
      evalWindows: 1,
    });
    const loss = Array.from(r.curve!.getChild('loss')!.toArray() as Float32Array);
    expect(loss).toHaveLength(48);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const [first, last] = [mean(loss.slice(0, 5)), mean(loss.slice(-5))];
    const ev = r.summary.evaluation!;
    console.log(
      `${name} SAE at ${hook} (d_in ${r.summary.dIn}): loss ${first.toFixed(2)} → ${last.toFixed(2)} (mean of the first / last 5 steps), held-out EV ${ev.explained_variance.toFixed(3)}, L0 ${ev.l0}`,
    );
    expect(r.summary).toMatchObject({ hook, dIn: model.config.dim, dSae: 4 * model.config.dim, k: 8 });
    expect(last).toBeLessThan(0.75 * first);
    expect(ev.explained_variance).toBeGreaterThan(0.3);
    expect(Number.isFinite(ev.loss_spliced)).toBe(true);
  });
});

describe('GPT-2 and Gemma 3 shapes the pruning code must not assume away', () => {
  const calibrated = async (name: Lab) => {
    const { model, tokenizer } = lab(name);
    return preparePruningText(model, tokenizer, stories, { calibrationWindows: 2, maxWindows: 1 });
  };

  it('Gemma 3 heads: whole query heads of wq [64, 48] and wo [48, 64] (q is wider than the stream)', async () => {
    const { model } = lab('gemma3');
    const { calibration } = await calibrated('gemma3');
    const pruned = await pruneModel(model, {
      method: 'wanda',
      pattern: { kind: 'heads' },
      sparsity: 0.5,
      calibration,
    });
    const hd = model.config.headDim;
    for (const w of pruned.weights.filter((p) => p.layer === 0)) {
      expect([w.name, w.rows, w.cols]).toEqual(w.name === 'wq' ? ['wq', 64, 48] : ['wo', 48, 64]);
      // Two of the four heads are kept, each whole.
      const kept = new Set<number>();
      for (let i = 0; i < w.mask.length; i++) {
        if (!w.mask[i]) continue;
        kept.add(Math.floor((w.name === 'wq' ? Math.floor(i / w.cols) : i % w.cols) / hd));
      }
      expect(kept.size).toBe(2);
      expect(w.mask.reduce((a, b) => a + b, 0)).toBe(w.mask.length / 2);
    }
  });

  it('GPT-2 channels: w1 rows and w2 columns (no w3 in a plain FFN); an MoE refuses channels', async () => {
    const { model } = lab('gpt2');
    const pruned = await pruneModel(model, {
      method: 'magnitude',
      pattern: { kind: 'channels' },
      sparsity: 0.25,
    });
    expect(pruned.weights.map((w) => `${w.layer}.${w.name}`)).toEqual(['0.w1', '0.w2', '1.w1', '1.w2']);
    expect(pruned.nonzeros).toBe(pruned.total - 0.25 * 2 * 2 * 128 * 32);
    await expect(
      pruneModel(lab('qwen2_moe').model, {
        method: 'magnitude',
        pattern: { kind: 'channels' },
        sparsity: 0.5,
      }),
    ).rejects.toThrow(/mixture of experts .*use unstructured, N:M or heads/);
  });
});

describe('other block layouts calibrate at the right inputs', () => {
  it.each(['olmo2', 'pythia'] as const)(
    '%s (post-norm / parallel residual): Wanda reads every linear’s input and prunes it by half',
    async (name) => {
      const { model, tokenizer } = loadArchFolder(backend, name);
      const { calibration } = preparePruningText(model, tokenizer, stories, { calibrationWindows: 1 });
      const pruned = await pruneModel(model, {
        method: 'wanda',
        pattern: { kind: 'unstructured' },
        sparsity: 0.5,
        calibration,
      });
      expect(pruned.weights).toHaveLength(model.config.nLayers * model.linearWeights.length);
      expect(pruned.nonzeros).toBe(pruned.total / 2);
      model.dispose();
    },
  );
});

describe('Gemma 3 sliding-window layers', () => {
  it('put all attention mass within the window; the global layer reaches past it', async () => {
    const { model, tokenizer } = lab('gemma3');
    const layers = model.config.block!.layers;
    // config.json: layer_types sliding ×3, full; sliding_window 16.
    expect(layers.map((l) => l.window)).toEqual([16, 16, 16, null]);
    const W = 16;

    // 1. The probe table: no locality bucket at distance ≥ W holds mass in a sliding layer.
    const r = await probeJob(model, tokenizer, { text: stories, maxWindows: 2 });
    const rows = tableRows<Record<string, number>>(r.heads);
    const nBuckets = r.heads.schema.fields.filter((f) => f.name.startsWith('locality_')).length;
    const far = (h: Record<string, number>) => {
      let s = 0;
      for (let b = 0; b < nBuckets; b++) if (bucketRange(b)[0] >= W) s += h[HEAD_PROBE_COLUMNS.locality(b)]!;
      return s;
    };
    for (const h of rows) {
      const sliding = layers[h[HEAD_PROBE_COLUMNS.layer]!]!.window !== null;
      if (sliding) {
        expect(far(h)).toBe(0);
        expect(h[HEAD_PROBE_COLUMNS.meanDistance]).toBeLessThanOrEqual(W - 1);
        expect(h[HEAD_PROBE_COLUMNS.k99]).toBeLessThanOrEqual(W);
        expect(h[HEAD_PROBE_COLUMNS.entropy]).toBeLessThanOrEqual(Math.log(W) + 1e-5);
      } else expect(far(h)).toBeGreaterThan(0.05);
    }

    // 2. The patterns themselves: exact zeros at distance ≥ W in sliding layers.
    const maxFar = [0, 0, 0, 0];
    const stream = tokenizer.encode(stories.split('<|endoftext|>')[0]!, { bos: true });
    await forEachPattern(model, stream, { maxWindows: 1 }, (p) => {
      const { T, nHeads, probs } = p;
      for (let h = 0; h < nHeads; h++)
        for (let i = W; i < T; i++)
          for (let j = 0; j <= i - W; j++)
            maxFar[p.layer] = Math.max(maxFar[p.layer]!, probs[(h * T + i) * T + j]!);
    });
    expect(stream.length).toBeGreaterThan(3 * W);
    expect(maxFar.slice(0, 3)).toEqual([0, 0, 0]);
    expect(maxFar[3]).toBeGreaterThan(0);
  });
});

describe('MoE routing statistics', () => {
  const corpus = (domain: string) =>
    readFileSync(path.join(root, `public/models/corpus/valid-${domain}.txt`), 'utf8');

  it('Qwen2-MoE: expert load and router entropy over two domains; the shared expert is not a routed one', async () => {
    const { model, tokenizer } = lab('qwen2_moe');
    const moe = model.config.moe!;
    expect(moe).toMatchObject({ nExperts: 8, topK: 2, normTopKProb: false, sharedExpert: { hiddenDim: 64 } });
    const r = await moeRoutingJob(model, tokenizer, {
      domains: [
        { domain: 'literature', text: corpus('literature') },
        { domain: 'code', text: corpus('code') },
      ],
      maxTokensPerDomain: 512,
    });
    const s = r.summary;
    expect(s).toMatchObject({ nLayers: 2, nExperts: 8, topK: 2 });
    expect(s.domains).toEqual([
      { name: 'literature', tokens: 512 },
      { name: 'code', tokens: 512 },
    ]);
    expect(r.load.numRows).toBe(2 * 8);
    for (const l of s.layers) {
      expect(l.load).toHaveLength(8);
      expect(l.load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(l.routerEntropy).toBeGreaterThan(0);
      expect(l.routerEntropy).toBeLessThanOrEqual(Math.log(8) + 1e-9);
      expect(l.loadEntropy).toBeLessThanOrEqual(Math.log(8) + 1e-9);
      expect(l.specialisation).toBeGreaterThanOrEqual(0);
      for (const d of ['literature', 'code'])
        expect(l.usage[d]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      console.log(
        `qwen2_moe layer ${l.layer}: load ${l.load.map((x) => x.toFixed(3)).join(' ')}; router entropy ${l.routerEntropy.toFixed(3)} of ${Math.log(8).toFixed(3)}; specialisation ${l.specialisation.toFixed(4)}`,
      );
    }
    // Each token makes exactly topK routed assignments; the shared expert runs beside them.
    for (const c of r.usage.schema.fields) expect(c.name).not.toMatch(/shared/);
    let shared: Float32Array | undefined;
    const out = await model.forward(Int32Array.of(304, 46, 77, 66), {
      hooks: { 'blocks.0.moe.hook_shared_expert_out': async (t) => void (shared = await backend.read(t)) },
    });
    backend.dispose(out);
    expect(shared).toHaveLength(4 * model.config.dim);
    expect(shared!.some((x) => x !== 0)).toBe(true);
  });

  it('a dense model is refused with a message naming it', async () => {
    const { model, tokenizer } = lab('gpt2');
    await expect(
      moeRoutingJob(
        model,
        tokenizer,
        { domains: [{ domain: 'stories', text: stories }], maxTokensPerDomain: 64 },
        { modelName: 'gpt2' },
      ),
    ).rejects.toThrow(/gpt2 has no MoE layers/);
  });
});
