/**
 * Attention-pattern probes, CPU reference (and the CPU backend's implementation) of
 * `Backend.patternProbe`, with the pure per-row math the analyses build on (METHODS.md "Attention
 * sparsity", Probes). A row is the causal probability row p[0..i] of query i; masses are taken
 * relative to the row's sum so that float32 rounding never makes a coverage exceed 1.
 *
 * Cost (stories260K, 512-token window, 40 heads × 512 rows): the row math is allocation-free; the
 * top-k / k-for-mass walk sorts only the candidates above a value bound (see `probeRowAt`), and
 * entropy takes one Math.log per non-zero probability.
 */
import type { PatternProbeOptions, PatternProbeResult } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';

/** Mass thresholds for `k90`, `k95`, `k99`: the smallest k whose top-k mass reaches them. */
export const MASS_THRESHOLDS = [0.9, 0.95, 0.99] as const;

/** Slack under which a cumulative mass still counts as reaching a threshold (float32 rows). */
export const MASS_EPS = 1e-6;

/**
 * Candidate filter of the top-k walk: elements below FILTER_EPS · total / n carry at most
 * FILTER_EPS of the row's mass together, less than the 1 − 0.99 the largest threshold leaves.
 */
const FILTER_EPS = 0.005;

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
  probeRowAt(p, 0, p.length, spec, out, scratch);
}

/**
 * `probeRow` on the n values data[off, off + n) (query row i = n − 1), without a subarray.
 *
 * Top-k coverage and k90/95/99 walk the row largest first. Only a prefix of that order is ever
 * needed: the largest k of `spec.ks` below n, and the elements up to the 99 % crossing. Elements
 * below FILTER_EPS · total / n hold less than FILTER_EPS (0.5 %) of the mass together, so every
 * threshold is crossed among the others (the candidates); only those are copied and sorted. When
 * fewer candidates exist than the largest k needs, the whole row is sorted (exact fallback).
 */
export function probeRowAt(
  data: Float32Array,
  off: number,
  n: number,
  spec: RowProbeSpec,
  out: RowProbe,
  scratch: Float32Array,
): void {
  const i = n - 1;
  const end = off + n;
  let total = 0;
  for (let j = off; j < end; j++) total += data[j]!;
  if (!(total > 0)) throw new Error(`query row ${i} has no attention mass (sum ${total})`);
  const inv = 1 / total;
  // Σ q log q over the non-zero q = p / total (entropy), Σ p (i − j) (distance).
  let h = 0;
  let dist = 0;
  for (let j = off; j < end; j++) {
    const x = data[j]!;
    if (x > 0) {
      const q = x / total;
      h -= q * Math.log(q);
      dist += x * (end - 1 - j);
    }
  }
  out.entropy = h;
  out.meanDistance = dist * inv;
  let sink = 0;
  const ns = Math.min(spec.nSink, n);
  for (let j = 0; j < ns; j++) sink += data[off + j]!;
  out.sinkMass = sink * inv;
  // Locality: bucket b ≥ 1 covers distances [2^(b−1), 2^b − 1], i.e. keys j = i − d, contiguous.
  const loc = out.locality;
  loc.fill(0);
  for (let b = 0, dLo = 0; dLo <= i && b < loc.length; b++) {
    const dHi = b === 0 ? 0 : Math.min(i, 2 * dLo - 1);
    let s = 0;
    for (let d = dLo; d <= dHi; d++) s += data[end - 1 - d]!;
    loc[b] = s * inv;
    dLo = dHi + 1;
  }

  const { ks } = spec;
  let kNeed = 0;
  for (const k of ks) if (k < n && k > kNeed) kNeed = k;
  const cutoff = (FILTER_EPS * total) / n;
  let m = 0;
  for (let j = off; j < end; j++) {
    const x = data[j]!;
    if (x >= cutoff) scratch[m++] = x;
  }
  if (m < kNeed) {
    for (let j = 0; j < n; j++) scratch[j] = data[off + j]!;
    m = n;
  }
  const sorted = scratch.subarray(0, m).sort();
  let ki = 0;
  let ti = 0;
  let cum = 0;
  for (let r = 1; r <= m && (ki < ks.length || ti < MASS_THRESHOLDS.length); r++) {
    cum += sorted[m - r]! / total;
    while (ki < ks.length && ks[ki]! <= r) out.coverage[ki++] = Math.min(1, cum);
    while (ti < MASS_THRESHOLDS.length && cum >= MASS_THRESHOLDS[ti]! - MASS_EPS) out.kFor[ti++] = r;
  }
  while (ki < ks.length) out.coverage[ki++] = 1;
  while (ti < MASS_THRESHOLDS.length) out.kFor[ti++] = n;
}

/** Column sums C_j = Σ_i p_ij and diagonal sums D_o = Σ_i p_{i,i−o} of one head, and their total. */
export interface LineSums {
  cols: Float64Array;
  diags: Float64Array;
  total: number;
}

/**
 * Column and diagonal sums of one head's causal pattern: `probs` holds [T, T] row-major from
 * `off`; entries above the diagonal are ignored. Writes into `out` (arrays of at least T) when given.
 */
export function lineSums(probs: Float32Array, T: number, off = 0, out?: LineSums): LineSums {
  const r = out ?? { cols: new Float64Array(T), diags: new Float64Array(T), total: 0 };
  const { cols, diags } = r;
  cols.fill(0, 0, T);
  diags.fill(0, 0, T);
  let total = 0;
  for (let i = 0; i < T; i++) {
    const o = off + i * T;
    for (let j = 0; j <= i; j++) {
      const q = probs[o + j]!;
      cols[j]! += q;
      diags[i - j]! += q;
      total += q;
    }
  }
  r.total = total;
  return r;
}

/** Names of the columns of `patternProbe`'s rows: base metrics, coverage per k, locality per bucket. */
export const PATTERN_PROBE_BASE_COLUMNS = [
  'entropy',
  'sink_mass',
  'mean_distance',
  'k90',
  'k95',
  'k99',
] as const;

/** Column offsets of `patternProbe`'s rows [nHeads, T, width]. */
export interface PatternProbeLayout {
  entropy: 0;
  sinkMass: 1;
  meanDistance: 2;
  /** k90, k95, k99 at kFor, kFor + 1, kFor + 2. */
  kFor: 3;
  /** Coverage of ks[c] at coverage + c. */
  coverage: number;
  /** Locality bucket b at locality + b. */
  locality: number;
  /** Columns per row: 6 + ks.length + nBuckets. */
  width: number;
}

export function patternProbeLayout(opts: Pick<PatternProbeOptions, 'ks' | 'nBuckets'>): PatternProbeLayout {
  const coverage = PATTERN_PROBE_BASE_COLUMNS.length;
  const locality = coverage + opts.ks.length;
  return {
    entropy: 0,
    sinkMass: 1,
    meanDistance: 2,
    kFor: 3,
    coverage,
    locality,
    width: locality + opts.nBuckets,
  };
}

/** Column names of `patternProbe`'s rows, e.g. […, 'coverage_k1', …, 'locality_b0', …]. */
export function patternProbeColumns(opts: Pick<PatternProbeOptions, 'ks' | 'nBuckets'>): string[] {
  return [
    ...PATTERN_PROBE_BASE_COLUMNS,
    ...opts.ks.map((k) => `coverage_k${k}`),
    ...Array.from({ length: opts.nBuckets }, (_, b) => `locality_b${b}`),
  ];
}

/** Validate `patternProbe`'s arguments (shared by both backends); returns nHeads and T. */
export function patternProbeDims(
  shape: readonly number[],
  opts: PatternProbeOptions,
): { nHeads: number; T: number } {
  if (shape.length !== 3 || shape[1] !== shape[2]) {
    throw new Error(`patternProbe: probs must be [nHeads, T, T], got [${shape.join(', ')}]`);
  }
  const { ks, nSink, nBuckets } = opts;
  if (ks.some((k, i) => !Number.isInteger(k) || k < 1 || (i > 0 && k <= ks[i - 1]!))) {
    throw new Error(`patternProbe: ks must be ascending positive integers, got [${ks.join(', ')}]`);
  }
  if (!Number.isInteger(nSink) || nSink < 0)
    throw new Error(`patternProbe: nSink must be an integer ≥ 0, got ${nSink}`);
  const T = shape[1]!;
  if (!Number.isInteger(nBuckets) || nBuckets < bucketCount(T)) {
    throw new Error(`patternProbe: nBuckets ${nBuckets} < ${bucketCount(T)} needed for T ${T}`);
  }
  return { nHeads: shape[0]!, T };
}

/**
 * Host-array `patternProbe`: rows [nHeads, T, width] and lines [nHeads, 2, T] of probs
 * [nHeads, T, T]. Throws on a row without mass (as `probeRow`).
 */
export function patternProbeArrays(
  probs: Float32Array,
  nHeads: number,
  T: number,
  opts: PatternProbeOptions,
): { rows: Float32Array; lines: Float32Array } {
  const spec: RowProbeSpec = opts;
  const L = patternProbeLayout(opts);
  const F = L.width;
  const rows = new Float32Array(nHeads * T * F);
  const lines = new Float32Array(nHeads * 2 * T);
  const row = emptyRowProbe(spec);
  const scratch = new Float32Array(T);
  const sums: LineSums = { cols: new Float64Array(T), diags: new Float64Array(T), total: 0 };
  const nK = opts.ks.length;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) {
      probeRowAt(probs, (h * T + i) * T, i + 1, spec, row, scratch);
      const o = (h * T + i) * F;
      rows[o] = row.entropy;
      rows[o + 1] = row.sinkMass;
      rows[o + 2] = row.meanDistance;
      for (let t = 0; t < 3; t++) rows[o + 3 + t] = row.kFor[t]!;
      for (let k = 0; k < nK; k++) rows[o + L.coverage + k] = row.coverage[k]!;
      for (let b = 0; b < opts.nBuckets; b++) rows[o + L.locality + b] = row.locality[b]!;
    }
    lineSums(probs, T, h * T * T, sums);
    lines.set(sums.cols, h * 2 * T);
    lines.set(sums.diags, h * 2 * T + T);
  }
  return { rows, lines };
}

/** CPU `patternProbe` (see `Backend.patternProbe`). */
export function patternProbeCpu(probs: Tensor<'f32'>, opts: PatternProbeOptions): PatternProbeResult {
  const { nHeads, T } = patternProbeDims(probs.shape, opts);
  const { rows, lines } = patternProbeArrays(cpu(probs).data, nHeads, T, opts);
  return {
    rows: f32(rows, [nHeads, T, patternProbeLayout(opts).width]),
    lines: f32(lines, [nHeads, 2, T]),
  };
}
