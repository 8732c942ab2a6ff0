import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { evaluateLoss } from '../../runtime/eval/loss';
import { parseLlama2c } from '../../runtime/formats/llama2c';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import { LlamaModel } from '../../runtime/model/llama';
import { allocateLlamaWeights } from '../../runtime/model/llama-config';
import { buildTokenStream, splitDocuments, END_OF_TEXT } from '../../runtime/text';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import { readShared, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';
import { ReferenceLlama, referenceLoss } from './reference-forward';
import { randomWeights, tinyConfig, toArrayBuffer } from './synthetic';
import { trackingBackend } from './tracking-backend';

const modelFile = readShared(STORIES260K);
const tok = Llama2cTokenizer.load(readShared(TOK512), 'tok512.bin');
const docs = splitDocuments(new TextDecoder().decode(readShared(TINYSTORIES_VALID))).documents;
const backend = createCpuBackend();
const model = LlamaModel.load(backend, parseLlama2c(modelFile, 'stories260K.bin'));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('LlamaModel.forward against an independent scalar llama2.c forward', () => {
  it('logits agree within 1e-4 over a 64-token input', async () => {
    const tokens = buildTokenStream(tok, docs.slice(0, 2).join(END_OF_TEXT)).tokens.slice(0, 64);
    expect(tokens.length).toBe(64);
    const logits = await model.forward(tokens);
    expect(logits.shape).toEqual([64, 512]);
    const ours = await backend.read(logits);
    backend.dispose(logits);
    const ref = new ReferenceLlama(modelFile);
    const expected = new Float32Array(64 * 512);
    tokens.forEach((t, pos) => expected.set(ref.forward(t, pos), pos * 512));
    expect(maxAbsDiff(ours, expected)).toBeLessThan(1e-4);
  });

  it("lastLogitsOnly unembeds the last position only, equal to the full forward's last row", async () => {
    const tokens = buildTokenStream(tok, docs.slice(0, 1).join(END_OF_TEXT)).tokens.slice(0, 40);
    const full = await model.forward(tokens);
    const all = await backend.read(full);
    backend.dispose(full);
    const last = await model.forward(tokens, { lastLogitsOnly: true });
    expect(last.shape).toEqual([1, 512]);
    const got = await backend.read(last);
    backend.dispose(last);
    expect(Array.from(got)).toEqual(Array.from(all.subarray(39 * 512)));
    // A single position is already its own last row.
    const one = await model.forward(tokens.slice(0, 1), { lastLogitsOnly: true });
    expect(one.shape).toEqual([1, 512]);
    backend.dispose(one);
  });

  it('loss over the first 20 stories agrees within 1e-5 relative', async () => {
    const text = docs.slice(0, 20).join(END_OF_TEXT);
    const ours = await evaluateLoss(model, tok, text);
    const ref = referenceLoss(new ReferenceLlama(modelFile), buildTokenStream(tok, text).tokens);
    expect(ours.tokens).toBe(ref.count);
    expect(ours.documents).toBe(20);
    expect(Math.abs(ours.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
  });

  it('a synthetic checkpoint with a separate classifier and GQA matches too', async () => {
    const config = tinyConfig({
      nLayers: 2,
      nHeads: 4,
      nKvHeads: 2,
      dim: 16,
      hiddenDim: 24,
      sharedClassifier: false,
      seqLen: 12,
    });
    const file = writeLlama2c(config, randomWeights(config, 3));
    const m = LlamaModel.load(backend, parseLlama2c(file, 'tiny.bin'));
    const tokens = Int32Array.of(1, 5, 9, 2, 15, 0, 7, 7, 3, 11, 4, 6);
    const ours = await backend.read(await m.forward(tokens));
    const ref = new ReferenceLlama(toArrayBuffer(file));
    const expected = new Float32Array(tokens.length * 16);
    tokens.forEach((t, pos) => expected.set(ref.forward(t, pos), pos * 16));
    expect(maxAbsDiff(ours, expected)).toBeLessThan(1e-4);
  });
});

describe('hand-computable cases', () => {
  it('all-zero weights give uniform logits: loss = ln(vocab)', async () => {
    const config = tinyConfig({ dim: 4, nHeads: 2, nKvHeads: 1, vocabSize: 16 });
    const m = LlamaModel.load(backend, { config, weights: allocateLlamaWeights(config) });
    const logits = await backend.read(await m.forward(Int32Array.of(1, 2, 3, 4)));
    expect(Array.from(logits).every((v) => v === 0)).toBe(true);
    const r = await evaluateLoss(m, Llama2cTokenizerStub(16), 'any text');
    expect(r.loss).toBeCloseTo(Math.log(16), 12);
    expect(r.perplexity).toBeCloseTo(16, 9);
  });

  it('one-hot embeddings through rmsnorm and a shared classifier', async () => {
    // Blocks are all zero, so x = emb[t] = 2·e_t; rmsnorm gives 2/sqrt(1 + 1e-5)·e_t; logits =
    // emb · that = a·δ(j = t) with a = 4/sqrt(1 + 1e-5).
    const config = tinyConfig({ dim: 4, nHeads: 2, nKvHeads: 1, vocabSize: 4 });
    const weights = allocateLlamaWeights(config);
    for (let t = 0; t < 4; t++) weights.tokEmbeddings[t * 4 + t] = 2;
    weights.norm.fill(1);
    const m = LlamaModel.load(backend, { config, weights });
    const logits = await backend.read(await m.forward(Int32Array.of(0, 3, 1)));
    const a = 4 / Math.sqrt(1 + 1e-5);
    const expected = [a, 0, 0, 0, 0, 0, 0, a, 0, a, 0, 0];
    expect(maxAbsDiff(logits, expected)).toBeLessThan(1e-6);
  });
});

describe('resource hygiene', () => {
  it('forward disposes every intermediate, also when a hook throws', async () => {
    const tb = trackingBackend(createCpuBackend());
    const m = LlamaModel.load(tb, parseLlama2c(modelFile, 'stories260K.bin'));
    const weights = tb.live.size;
    expect(weights).toBe(1 + 5 * 9 + 1); // shared classifier uploaded once
    const logits = await m.forward(Int32Array.of(1, 403, 407), {
      hooks: {
        'blocks.1.attn.hook_pattern': (p, ctx) =>
          ctx.backend.tensor(new Float32Array(p.size).fill(0.25), p.shape),
        'blocks.2.mlp.hook_post': (t, ctx) => ctx.backend.zeros(t.shape) as typeof t,
      },
    });
    tb.dispose(logits);
    expect(tb.live.size).toBe(weights);
    await expect(
      m.forward(Int32Array.of(1, 403), {
        hooks: {
          'blocks.3.hook_resid_mid': () => {
            throw new Error('boom');
          },
        },
      }),
    ).rejects.toThrow('boom');
    expect(tb.live.size).toBe(weights);
    const cache = m.createKvCache();
    tb.dispose(await m.forward(Int32Array.of(1, 403), { kvCache: cache }));
    tb.dispose(await m.forward(Int32Array.of(407), { kvCache: cache }));
    cache.dispose();
    m.dispose();
    expect(tb.live.size).toBe(0);
    expect(tb.badDisposals).toBe(0);
  });

  it('rejects bad token ids and positions', async () => {
    await expect(model.forward(Int32Array.of(1, 512))).rejects.toThrow(
      /token id 512 at index 1 is outside the vocabulary \[0, 512\)/,
    );
    await expect(model.forward(new Int32Array(0))).rejects.toThrow(/no tokens/);
    await expect(model.forward(new Int32Array(513))).rejects.toThrow(
      /positions 0..512 exceed the model seq_len 512/,
    );
  });
});

/** A tokenizer stand-in for synthetic vocabularies: every char → its code mod vocab. */
function Llama2cTokenizerStub(vocabSize: number): Llama2cTokenizer {
  return {
    vocabSize,
    fileName: 'stub',
    encode: (s: string) => Int32Array.from([1, ...Array.from(s, (c) => c.charCodeAt(0) % vocabSize)]),
  } as unknown as Llama2cTokenizer;
}
