/**
 * DHSA-style chunk mask ("Long-Context Modeling with Dynamic Hierarchical Sparse Attention"): keys
 * are cut into chunks of c tokens; a chunk is represented by the mean of its keys × √(its length),
 * the query's similarity to each chunk is upsampled to every token of the chunk, and the row keeps
 * its top tokens by that importance. The √length factor is the paper's: it lets a chunk's
 * representation grow like a sum of independent keys, so short (partial) chunks are not favoured.
 * Fixed-size chunks here; the paper's variable-length boundary prediction is left out.
 */
import type { HeadMasks, LayerQK } from '../types';
import { emptyMasks, keepSelfPlusTop, kvHeadOf, rowBudgets, validateQK } from './common';

export interface ChunkOptions {
  /** Chunk length c. Default 16. */
  chunkSize?: number;
}

/**
 * Chunk mask. Within a chunk all tokens tie, so ties go to the more recent tokens.
 *
 * @example
 * chunkMask(input, 0.25, { chunkSize: 8 });
 */
export function chunkMask(input: LayerQK, budget: number, options: ChunkOptions = {}): HeadMasks {
  validateQK(input);
  const c = options.chunkSize ?? 16;
  if (!Number.isInteger(c) || c < 1) throw new Error(`chunkSize must be a whole number ≥ 1; got ${c}`);
  const { T, nHeads, nKvHeads, headDim: d, q, k } = input;
  const n = rowBudgets(T, budget, false, 'chunk');
  const masks = emptyMasks(T, nHeads);
  const nChunks = Math.ceil(T / c);
  // Prefix sums of keys per KV head, so the query's own (partial, causal) chunk costs O(d).
  const prefix = new Float64Array(nKvHeads * (T + 1) * d);
  for (let g = 0; g < nKvHeads; g++) {
    for (let t = 0; t < T; t++) {
      for (let ch = 0; ch < d; ch++) {
        prefix[(g * (T + 1) + t + 1) * d + ch] =
          prefix[(g * (T + 1) + t) * d + ch]! + k[(t * nKvHeads + g) * d + ch]!;
      }
    }
  }
  const chunkSim = new Float64Array(nChunks);
  const importance = new Float64Array(T);
  for (let h = 0; h < nHeads; h++) {
    const g = kvHeadOf(input, h);
    for (let i = 0; i < T; i++) {
      const qOff = (i * nHeads + h) * d;
      const last = Math.floor(i / c);
      for (let b = 0; b <= last; b++) {
        const a = b * c;
        const e = Math.min((b + 1) * c, i + 1); // causal: the own chunk only up to the query
        const len = e - a;
        let s = 0;
        for (let ch = 0; ch < d; ch++) {
          const sum = prefix[(g * (T + 1) + e) * d + ch]! - prefix[(g * (T + 1) + a) * d + ch]!;
          s += q[qOff + ch]! * sum;
        }
        chunkSim[b] = (s / len) * Math.sqrt(len); // (mean key × √len) · q
      }
      for (let j = 0; j <= i; j++) importance[j] = chunkSim[Math.floor(j / c)]!;
      keepSelfPlusTop(masks.keep, (h * T + i) * T, i, n[i]!, importance);
    }
  }
  return masks;
}
