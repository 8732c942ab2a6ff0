/** Helpers shared by the MoE runtime tests: the scalar reference for a synthetic checkpoint. */
import { expect } from 'vitest';
import type { LlamaConfig, LlamaWeights } from '../../runtime/model/llama-config';
import { ReferenceLlama, type RefForwardOptions } from './reference-forward';

/** The reference model for a synthetic checkpoint (MoE weights handed over as arrays). */
export function referenceFor(config: LlamaConfig, weights: LlamaWeights): ReferenceLlama {
  const { dim, hiddenDim: hidden, nLayers, nHeads, nKvHeads, vocabSize: vocab, seqLen } = config;
  const moe = config.moe
    ? {
        ...config.moe,
        layers: weights.layers.map((l) => ({ router: l.moe!.router, experts: l.moe!.experts })),
      }
    : null;
  return ReferenceLlama.fromLayers({ dim, hidden, nLayers, nHeads, nKvHeads, vocab, seqLen }, weights, moe);
}

/** Reference logits [T, vocab] of `tokens` fed from position 0. */
export function referenceLogits(
  ref: ReferenceLlama,
  tokens: Int32Array,
  opts?: RefForwardOptions,
): Float32Array {
  const V = ref.p.vocab;
  const out = new Float32Array(tokens.length * V);
  tokens.forEach((t, pos) => out.set(ref.forward(t, pos, opts), pos * V));
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
