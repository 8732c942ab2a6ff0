/**
 * Key-norm token eviction: a key (value) token is scored by the L2 norm of its vector in one KV
 * head (over the headDim channels), and the smallest are evicted whole, so the result is an
 * attention mask. K and V keep sets are ranked separately (V on |v|) for the byte accounting.
 * This is token eviction, not Mustafar: Mustafar keeps every token and prunes elements inside
 * each K and V vector (mustafar.ts).
 */
import type { HeadMasks, LayerQK } from '../types';
import { emptyMasks, keepSelfPlusTop, kvHeadOf, rowBudgets, validateQK } from './common';

export interface KvNormEvictOptions {
  /** Values [T, nKvHeads * headDim]; when given, `kvNormEvictKeep` also returns V's keep set. */
  v?: Float32Array;
}

/** Per-token L2 norms of a [T, nKvHeads·headDim] cache: [nKvHeads, T]. */
function tokenNorms(x: Float32Array, T: number, nKv: number, d: number): Float64Array {
  const out = new Float64Array(nKv * T);
  for (let t = 0; t < T; t++) {
    for (let g = 0; g < nKv; g++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[(t * nKv + g) * d + c]! ** 2;
      out[g * T + t] = Math.sqrt(s);
    }
  }
  return out;
}

/**
 * Mask: row i keeps itself plus the n_i − 1 earlier keys of largest |k| (ties → more recent), the
 * same for every query head of a KV group (they read one cache).
 *
 * @example
 * kvNormEvictMask(input, 0.3); // keeps the 30 % largest-norm keys each query can see
 */
export function kvNormEvictMask(input: LayerQK, budget: number): HeadMasks {
  validateQK(input);
  const { T, nHeads, nKvHeads, headDim } = input;
  const n = rowBudgets(T, budget, true, 'kv-norm-evict');
  const norms = tokenNorms(input.k, T, nKvHeads, headDim);
  const masks = emptyMasks(T, nHeads);
  for (let h = 0; h < nHeads; h++) {
    const g = kvHeadOf(input, h);
    const rank = norms.subarray(g * T, (g + 1) * T);
    for (let i = 0; i < T; i++) keepSelfPlusTop(masks.keep, (h * T + i) * T, i, n[i]!, rank);
  }
  return masks;
}

/** The cache that survives the window: which tokens' K (and V) are kept per KV head. */
export interface KvKeepSets {
  nKvHeads: number;
  T: number;
  /** [nKvHeads, T], 1 = key kept: the last token plus the n_{T−1} − 1 largest-|k| earlier ones. */
  k: Uint8Array;
  /** [nKvHeads, T], same rule on |v|; null when no values were given. */
  v: Uint8Array | null;
}

/**
 * K and V keep sets per KV head after the whole window (the last query row's view: the cache a
 * decoder would hold). The attention mask uses K's ranking; V's set is for KV-byte accounting.
 *
 * @example
 * const { k, v } = kvNormEvictKeep(input, 0.3, { v: values });
 */
export function kvNormEvictKeep(
  input: LayerQK,
  budget: number,
  options: KvNormEvictOptions = {},
): KvKeepSets {
  validateQK(input);
  const { T, nKvHeads, headDim } = input;
  const last = rowBudgets(T, budget, true, 'kv-norm-evict')[T - 1]!;
  const sets = (x: Float32Array): Uint8Array => {
    const norms = tokenNorms(x, T, nKvHeads, headDim);
    const keep = new Uint8Array(nKvHeads * T);
    for (let g = 0; g < nKvHeads; g++) {
      keepSelfPlusTop(keep, g * T, T - 1, last, norms.subarray(g * T, (g + 1) * T));
    }
    return keep;
  };
  if (options.v && options.v.length !== input.k.length) {
    throw new Error(`v has ${options.v.length} values; want ${input.k.length} (same shape as k)`);
  }
  return { nKvHeads, T, k: sets(input.k), v: options.v ? sets(options.v) : null };
}
