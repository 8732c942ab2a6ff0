/**
 * Pure per-query-row and per-head attention probe metrics (METHODS.md "Attention sparsity",
 * Probes). A row is the causal probability row p[0..i] of query i; masses are taken relative to the
 * row's sum so that float32 rounding never makes a coverage exceed 1.
 */

/** Mass thresholds for `k90`, `k95`, `k99`: the smallest k whose top-k mass reaches them. */
export const MASS_THRESHOLDS = [0.9, 0.95, 0.99] as const;

/** Default top-k coverage sizes. */
export const DEFAULT_KS: readonly number[] = [1, 2, 4, 8, 16, 32, 64];

/** Slack under which a cumulative mass still counts as reaching a threshold (float32 rows). */
const MASS_EPS = 1e-6;

/**
 * Locality bucket of an attention distance d = i − j: 0 for d = 0, 1 for d = 1, then one bucket per
 * power of two: 2 for 2–3, 3 for 4–7, 4 for 8–15, … (bucket b ≥ 1 holds 2^(b−1) ≤ d < 2^b).
 */
export function distanceBucket(d: number): number {
  return d === 0 ? 0 : 32 - Math.clz32(d);
}

/** Buckets needed for windows of up to `seqLen` tokens (distances 0..seqLen−1). */
export function bucketCount(seqLen: number): number {
  return distanceBucket(Math.max(0, seqLen - 1)) + 1;
}

/** Inclusive distance range [lo, hi] of bucket b. */
export function bucketRange(b: number): [number, number] {
  return b === 0 ? [0, 0] : [2 ** (b - 1), 2 ** b - 1];
}

/** What `probeRow` measures, fixed for a run. */
export interface RowProbeSpec {
  /** Top-k sizes, ascending, each ≥ 1. */
  ks: readonly number[];
  /** Number of leading (sink) tokens of the window. */
  nSink: number;
  /** Number of locality buckets (`bucketCount(seqLen)`). */
  nBuckets: number;
}

/** Metrics of one query row (see `probeRow`). */
export interface RowProbe {
  /** −Σ p_j log p_j, nats (p normalised to sum 1). */
  entropy: number;
  /** Mass on keys j < nSink (1 when i < nSink). */
  sinkMass: number;
  /** Σ p_j (i − j), in tokens. */
  meanDistance: number;
  /** Mass of the k largest probabilities, per `spec.ks` (1 once k ≥ i + 1). */
  coverage: Float64Array;
  /** Smallest k whose top-k mass reaches 90 / 95 / 99 % (`MASS_THRESHOLDS`). */
  kFor: Float64Array;
  /** Mass per distance bucket (`distanceBucket`); sums to 1. */
  locality: Float64Array;
}

export function emptyRowProbe(spec: RowProbeSpec): RowProbe {
  return {
    entropy: 0,
    sinkMass: 0,
    meanDistance: 0,
    coverage: new Float64Array(spec.ks.length),
    kFor: new Float64Array(MASS_THRESHOLDS.length),
    locality: new Float64Array(spec.nBuckets),
  };
}

/**
 * Measure query row i: `p` holds its i + 1 causal probabilities (keys 0..i). Writes into `out`;
 * `scratch` must hold at least i + 1 floats (it is overwritten). Allocation-free for the hot loop.
 */
export function probeRow(p: Float32Array, spec: RowProbeSpec, out: RowProbe, scratch: Float32Array): void {
  const n = p.length;
  const i = n - 1;
  let total = 0;
  for (let j = 0; j < n; j++) total += p[j]!;
  if (!(total > 0)) throw new Error(`query row ${i} has no attention mass (sum ${total})`);
  let h = 0;
  let sink = 0;
  let dist = 0;
  out.locality.fill(0);
  for (let j = 0; j < n; j++) {
    const q = p[j]! / total;
    if (q > 0) h -= q * Math.log(q);
    if (j < spec.nSink) sink += q;
    dist += q * (i - j);
    out.locality[distanceBucket(i - j)]! += q;
  }
  out.entropy = h;
  out.sinkMass = sink;
  out.meanDistance = dist;

  // Walk the row largest first until every k and threshold is settled.
  const sorted = scratch.subarray(0, n);
  sorted.set(p);
  sorted.sort();
  const { ks } = spec;
  let ki = 0;
  let ti = 0;
  let cum = 0;
  for (let r = 1; r <= n && (ki < ks.length || ti < MASS_THRESHOLDS.length); r++) {
    cum += sorted[n - r]! / total;
    while (ki < ks.length && ks[ki]! <= r) out.coverage[ki++] = Math.min(1, cum);
    while (ti < MASS_THRESHOLDS.length && cum >= MASS_THRESHOLDS[ti]! - MASS_EPS) out.kFor[ti++] = r;
  }
  while (ki < ks.length) out.coverage[ki++] = 1;
  while (ti < MASS_THRESHOLDS.length) out.kFor[ti++] = n;
}

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
  const c = Math.max(1, Math.min(lines, T));
  const cols = new Float64Array(T);
  const diags = new Float64Array(T);
  let total = 0;
  for (let i = 0; i < T; i++) {
    const o = i * T;
    for (let j = 0; j <= i; j++) {
      const q = probs[o + j]!;
      cols[j]! += q;
      diags[i - j]! += q;
      total += q;
    }
  }
  const topShare = (a: Float64Array) => {
    a.sort();
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
