/** Small synthetic Llama checkpoints for tests, with seeded weights. */
import {
  allocateLlamaWeights,
  llamaConfig,
  type LlamaConfig,
  type LlamaDims,
  type LlamaWeights,
  type MoeConfig,
} from '../../runtime/model/llama-config';

/** A tiny config (1 layer, dim 8, 2 heads, 1 kv head, vocab 16, seq 8) with overrides. */
export function tinyConfig(overrides: Partial<LlamaDims> = {}): LlamaConfig {
  return llamaConfig({
    dim: 8,
    hiddenDim: 12,
    nLayers: 1,
    nHeads: 2,
    nKvHeads: 1,
    vocabSize: 16,
    seqLen: 8,
    sharedClassifier: true,
    ...overrides,
  });
}

/** tinyConfig with a sparse MoE FFN (default 4 experts, top-2, renormalised) in every block. */
export function tinyMoeConfig(overrides: Partial<LlamaDims> = {}, moe: Partial<MoeConfig> = {}): LlamaConfig {
  return { ...tinyConfig(overrides), moe: { nExperts: 4, topK: 2, normTopKProb: true, ...moe } };
}

/** Deterministic pseudo-random floats in [-scale, scale) (LCG; same seed → same weights). */
export function randomWeights(config: LlamaConfig, seed = 1, scale = 0.5): LlamaWeights {
  const w = allocateLlamaWeights(config);
  let s = seed >>> 0;
  const fill = (a: Float32Array) => {
    for (let i = 0; i < a.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
    }
  };
  fill(w.tokEmbeddings);
  for (const l of w.layers) {
    for (const a of Object.values(l)) if (a instanceof Float32Array) fill(a);
    if (l.moe) {
      fill(l.moe.router);
      for (const x of l.moe.experts) [x.w1, x.w2, x.w3].forEach(fill);
    }
  }
  fill(w.norm);
  if (w.output) fill(w.output);
  return w;
}

/** A fresh ArrayBuffer holding exactly these bytes (the reference reader wants one). */
export function toArrayBuffer(u8: Uint8Array): ArrayBuffer {
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
}
