/**
 * Shared pieces of the mask zoo: budget → keys per query row, scores q·k/√d, row selection.
 *
 * Budget rule (every row-wise family, METHODS.md "Attention sparsity"): query row i sees i + 1 causal
 * keys. With a share B in (0, 1] it keeps n_i = max(1, round(B·(i + 1))) keys; with an absolute
 * budget K > 1 (integer, only `topk`, `window-sink`, `kv-norm-evict`) it keeps n_i = min(K, i + 1).
 * The diagonal (the query itself) is always one of the n_i kept keys, so no row is ever empty; it is
 * counted in the density. Hence |n_i − B·(i + 1)| ≤ 1 for every row ("within one entry per row").
 */
import type { HeadMasks, LayerPattern, LayerQK } from '../types';

/** Number of causal (query, key) entries of one head over a window of T tokens. */
export function causalEntries(T: number): number {
  return (T * (T + 1)) / 2;
}

/**
 * Keys kept per query row (diagonal included) for a budget, following the rule in this file's header.
 *
 * @example
 * rowBudgets(4, 0.5, true);  // Int32Array [1, 1, 2, 2]
 * rowBudgets(4, 3, true);    // Int32Array [1, 2, 3, 3]
 * @throws Error for a budget ≤ 0, not finite, non-integer above 1, or above 1 where `allowAbsolute` is false.
 */
export function rowBudgets(
  T: number,
  budget: number,
  allowAbsolute: boolean,
  family = 'this family',
): Int32Array {
  if (!Number.isFinite(budget) || budget <= 0) {
    throw new Error(`budget must be a share in (0, 1] or a key count > 1; got ${budget}`);
  }
  if (budget > 1 && !allowAbsolute) {
    throw new Error(`budget for ${family} is a share of causal entries in (0, 1]; got ${budget}`);
  }
  if (budget > 1 && !Number.isInteger(budget)) {
    throw new Error(`an absolute budget is a whole number of keys per query; got ${budget}`);
  }
  const n = new Int32Array(T);
  for (let i = 0; i < T; i++) {
    n[i] = budget > 1 ? Math.min(budget, i + 1) : Math.max(1, Math.round(budget * (i + 1)));
  }
  return n;
}

/** Check the LayerQK shapes once, so every family fails with the same clear message. */
export function validateQK(input: LayerQK): void {
  const { T, nHeads, nKvHeads, headDim, q, k } = input;
  if (!(T > 0 && nHeads > 0 && nKvHeads > 0 && headDim > 0)) {
    throw new Error(`layer ${input.layer}: T, nHeads, nKvHeads, headDim must be positive`);
  }
  if (nHeads % nKvHeads !== 0) {
    throw new Error(`layer ${input.layer}: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  }
  if (q.length !== T * nHeads * headDim || k.length !== T * nKvHeads * headDim) {
    throw new Error(
      `layer ${input.layer}: q has ${q.length} values (want ${T * nHeads * headDim}), ` +
        `k has ${k.length} (want ${T * nKvHeads * headDim})`,
    );
  }
}

/** The key head that query head h reads (grouped-query attention). */
export function kvHeadOf(input: LayerQK, h: number): number {
  return Math.floor(h / (input.nHeads / input.nKvHeads));
}

/** All-zero masks of the right shape. */
export function emptyMasks(T: number, nHeads: number): HeadMasks {
  return { T, nHeads, keep: new Uint8Array(nHeads * T * T) };
}

/**
 * Scores q_i·k_j/√d of query head h, row i, for keys j in 0..i, into out[0..i]. With `channels`
 * only those channels are summed (Double Sparsity); the loop order is the same, so the full sorted
 * channel list gives bit-identical scores to the exact path.
 *
 * @example
 * const s = new Float64Array(T); rowScores(input, 0, 5, s); // s[0..5]
 */
export function rowScores(
  input: LayerQK,
  h: number,
  i: number,
  out: Float64Array,
  channels?: Int32Array,
): void {
  const { nHeads, nKvHeads, headDim: d, q, k } = input;
  const qOff = (i * nHeads + h) * d;
  const kh = kvHeadOf(input, h);
  const nc = channels ? channels.length : d;
  const scale = 1 / Math.sqrt(d);
  for (let j = 0; j <= i; j++) {
    const kOff = (j * nKvHeads + kh) * d;
    let s = 0;
    for (let t = 0; t < nc; t++) {
      const c = channels ? channels[t]! : t;
      s += q[qOff + c]! * k[kOff + c]!;
    }
    out[j] = s * scale;
  }
}

/**
 * Keep the diagonal of row i plus the n − 1 keys j < i with the largest `rank[j]` (ties go to the
 * more recent key). `off` is the row's start in `keep` ((h·T + i)·T).
 *
 * @example
 * keepSelfPlusTop(masks.keep, (h * T + i) * T, i, n, scores);
 */
export function keepSelfPlusTop(
  keep: Uint8Array,
  off: number,
  i: number,
  n: number,
  rank: ArrayLike<number>,
): void {
  keep[off + i] = 1;
  const m = Math.min(n - 1, i);
  if (m <= 0) return;
  if (m === i) {
    keep.fill(1, off, off + i);
    return;
  }
  const idx = Array.from({ length: i }, (_, j) => j);
  idx.sort((a, b) => rank[b]! - rank[a]! || b - a);
  for (let t = 0; t < m; t++) keep[off + idx[t]!] = 1;
}

/**
 * Causal softmax of q·k/√d per head: the pattern the model would produce (for families that need
 * attention mass, e.g. MoA or the permuted block variant, when no recorded pattern is given).
 *
 * @example
 * const pattern = attentionFromQK(input); // probs [nHeads, T, T]
 */
export function attentionFromQK(input: LayerQK): LayerPattern {
  validateQK(input);
  const { T, nHeads } = input;
  const probs = new Float32Array(nHeads * T * T);
  const s = new Float64Array(T);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) {
      rowScores(input, h, i, s);
      let max = -Infinity;
      for (let j = 0; j <= i; j++) max = Math.max(max, s[j]!);
      let sum = 0;
      for (let j = 0; j <= i; j++) sum += s[j] = Math.exp(s[j]! - max);
      const off = (h * T + i) * T;
      for (let j = 0; j <= i; j++) probs[off + j] = s[j]! / sum;
    }
  }
  return { layer: input.layer, T, nHeads, probs };
}
