/**
 * Pure per-query-row and per-head attention probe metrics (METHODS.md "Attention sparsity",
 * Probes). A row is the causal probability row p[0..i] of query i; masses are taken relative to the
 * row's sum so that float32 rounding never makes a coverage exceed 1. The row math itself lives in
 * kernels/pattern-probe.cpu.ts (the CPU reference of `Backend.patternProbe`) and is re-exported here.
 */

import {
  bucketCount,
  emptyRowProbe,
  lineSums,
  probeRow,
  type RowProbe,
  type RowProbeSpec,
} from '../../kernels/pattern-probe.cpu';

export {
  bucketCount,
  bucketRange,
  distanceBucket,
  emptyRowProbe,
  lineSums,
  MASS_THRESHOLDS,
  probeRow,
  probeRowAt,
  type LineSums,
  type RowProbe,
  type RowProbeSpec,
} from '../../kernels/pattern-probe.cpu';

/** Default top-k coverage sizes. */
export const DEFAULT_KS: readonly number[] = [1, 2, 4, 8, 16, 32, 64];

/**
 * `probeRow` on a plain array, allocating its own buffers (for tests and one-off use).
 *
 * @example
 * rowMetrics([0.25, 0.25, 0.25, 0.25]).entropy; // log 4
 */
export function rowMetrics(
  p: ArrayLike<number>,
  options: { ks?: readonly number[]; nSink?: number; nBuckets?: number } = {},
): RowProbe {
  const spec: RowProbeSpec = {
    ks: options.ks ?? DEFAULT_KS,
    nSink: options.nSink ?? 1,
    nBuckets: options.nBuckets ?? bucketCount(p.length),
  };
  const out = emptyRowProbe(spec);
  probeRow(Float32Array.from(p), spec, out, new Float32Array(p.length));
  return out;
}

/** H_n = Σ_{m=1..n} 1/m (H_0 = 0). */
function harmonic(n: number): number {
  let s = 0;
  for (let m = 1; m <= n; m++) s += 1 / m;
  return s;
}

/**
 * Share of the total mass that the top-c columns (equally: diagonals) capture under uniform causal
 * attention over T tokens. Column j then receives Σ_{i≥j} 1/(i+1) = H_T − H_j, largest for j < c.
 */
export function uniformLineShare(T: number, c: number): number {
  const HT = harmonic(T);
  let s = 0;
  for (let j = 0; j < Math.min(c, T); j++) s += HT - harmonic(j);
  return s / T;
}

/** Vertical and slash structure of one head in one window (see `lineScores`). */
export interface LineScores {
  vertical: number;
  slash: number;
  /** Raw shares before the uniform baseline is removed. */
  verticalShare: number;
  slashShare: number;
}

/**
 * Vertical (column) and slash (diagonal) structure of one head's causal pattern `probs` [T, T]
 * (row-major, query rows, zero above the diagonal), with c = min(`lines`, T):
 *
 * - column mass C_j = Σ_i p_ij (how much attention key j receives from all queries); the vertical
 *   share is the mass in the c heaviest columns ÷ the total mass (T rows of mass 1);
 * - diagonal mass D_o = Σ_i p_{i,i−o} (attention at a fixed offset o = i − j); the slash share is
 *   the mass in the c heaviest diagonals ÷ the total mass.
 *
 * Uniform causal attention already puts a share u = `uniformLineShare(T, c)` on its top lines, so
 * each score is rescaled to score = clamp((share − u) / (1 − u), 0, 1): 0 for uniform attention
 * (or anything no more concentrated), 1 when c lines hold all the mass. A previous-token head is
 * all slash (offsets 0 and 1), a head that always reads token 3 is all vertical; attention sinks
 * (mass on token 0) count as vertical structure.
 *
 * @example
 * lineScores(previousTokenPattern(64), 64, 8).slash; // 1
 */
export function lineScores(probs: Float32Array, T: number, lines: number): LineScores {
  const { cols, diags, total } = lineSums(probs, T);
  return lineScoresFromSums(cols, diags, total, T, lines);
}

/**
 * `lineScores` from a head's column sums `cols` [T] and diagonal sums `diags` [T] (as
 * `Backend.patternProbe` returns them) and their total mass. Sorts copies; the inputs are kept.
 */
export function lineScoresFromSums(
  cols: ArrayLike<number>,
  diags: ArrayLike<number>,
  total: number,
  T: number,
  lines: number,
): LineScores {
  const c = Math.max(1, Math.min(lines, T));
  const topShare = (x: ArrayLike<number>) => {
    const a = Float64Array.from({ length: T }, (_, j) => x[j]!).sort();
    let s = 0;
    for (let r = 1; r <= c; r++) s += a[T - r]!;
    return total > 0 ? s / total : 0;
  };
  const verticalShare = topShare(cols);
  const slashShare = topShare(diags);
  const u = uniformLineShare(T, c);
  const rescale = (s: number) => (c >= T || u >= 1 ? 0 : Math.min(1, Math.max(0, (s - u) / (1 - u))));
  return { vertical: rescale(verticalShare), slash: rescale(slashShare), verticalShare, slashShare };
}
