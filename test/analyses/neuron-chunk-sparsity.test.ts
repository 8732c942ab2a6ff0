/**
 * Chunk-level sparsity of the bundled dense model's FFN neurons against a direct computation from
 * the hook tensor: TLS is the share of |mlp.hook_post| ≤ t entries; CLS(L) counts, per chunk, the
 * neurons no token of the chunk activates.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { neuronChunkSparsity } from '../../analyses/moe';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { buildTokenStream, loadModelFiles } from '../../runtime';
import type { LlamaModel } from '../../runtime/model/llama';

const root = path.resolve(import.meta.dirname, '../..');
let model: LlamaModel;
let tokens: Int32Array;
let starts: number[];

beforeAll(async () => {
  const dir = path.join(root, 'public/models/sparsebook-dense');
  const files = await Promise.all(
    ['config.json', 'model.safetensors', 'tokenizer.bin'].map(async (name) => ({
      name,
      bytes: new Uint8Array(await readFile(path.join(dir, name))),
    })),
  );
  const loaded = loadModelFiles(createCpuBackend(), files, { source: 'sparsebook-dense' });
  model = loaded.model;
  const text = await readFile(path.join(root, 'public/models/corpus/valid-email.txt'), 'utf8');
  const s = buildTokenStream(
    loaded.tokenizer,
    text.split('\n<|endoftext|>\n').slice(0, 3).join('\n<|endoftext|>\n'),
  );
  const n = Math.min(s.tokens.length, model.config.seqLen + 40);
  tokens = s.tokens.slice(0, n);
  starts = s.documentStarts.filter((d) => d < n);
}, 60_000);

describe('neuron chunk sparsity', () => {
  it('matches a direct count over the hook tensor, window by window', async () => {
    const t = 0.05;
    const r = await neuronChunkSparsity(model, tokens, starts, { threshold: t, chunks: [1, 3, 8] });
    const H = model.config.hiddenDim;
    const S = model.config.seqLen;
    // Direct: the hook tensors of each window, and chunks cut at windows and documents.
    const acts: Float32Array[] = [];
    for (let from = 0; from < tokens.length; from += S) {
      let a!: Float32Array;
      const out = await model.forward(tokens.subarray(from, Math.min(tokens.length, from + S)), {
        hooks: { 'blocks.1.mlp.hook_post': async (x) => void (a = await model.backend.read(x)) },
      });
      model.backend.dispose(out);
      acts.push(a);
    }
    const all = new Float32Array(tokens.length * H);
    acts.reduce((o, a) => (all.set(a, o), o + a.length), 0);
    let inactive = 0;
    for (const v of all) if (Math.abs(v) <= t) inactive++;
    const layer1 = r.layers[1]!;
    expect(layer1.tls).toBeCloseTo(inactive / all.length, 12);
    expect(layer1.tls).toBeGreaterThan(0.05);
    const cuts = [...new Set([0, ...starts, S, tokens.length])]
      .filter((c) => c <= tokens.length)
      .sort((a, b) => a - b);
    for (const L of [3, 8]) {
      let sum = 0;
      let chunks = 0;
      for (let i = 0; i + 1 < cuts.length; i++) {
        for (let c = cuts[i]!; c + L <= cuts[i + 1]!; c += L) {
          let used = 0;
          for (let j = 0; j < H; j++) {
            let on = false;
            for (let tk = c; tk < c + L; tk++) on ||= Math.abs(all[tk * H + j]!) > t;
            if (on) used++;
          }
          sum += used / H;
          chunks++;
        }
      }
      const point = layer1.curve.find((p) => p.chunk === L)!;
      expect(point.chunks).toBe(chunks);
      expect(point.cls).toBeCloseTo(1 - sum / chunks, 12);
    }
    // CLS falls as chunks grow (a union only gains neurons).
    expect(layer1.curve[0]!.cls).toBeGreaterThan(layer1.curve[2]!.cls);
  });

  it('threshold 0 leaves (almost) every SiLU-gated neuron active; a negative threshold is refused', async () => {
    const r = await neuronChunkSparsity(model, tokens.subarray(0, 20), [0], { threshold: 0, chunks: [1] });
    expect(r.layers[0]!.tls).toBeLessThan(0.01);
    await expect(neuronChunkSparsity(model, tokens, [0], { threshold: -1, chunks: [1] })).rejects.toThrow(
      /non-negative/,
    );
  });
});
