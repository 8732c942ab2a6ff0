/**
 * Attention-pattern probes, CPU reference (and the CPU backend's implementation) of
 * `Backend.patternProbe`, with the pure per-row math the analyses build on (METHODS.md "Attention
 * sparsity", Probes). A row is the causal probability row p[0..i] of query i; masses are taken
 * relative to the row's sum so that float32 rounding never makes a coverage exceed 1.
 *
 * Cost (stories260K, 512-token window, 40 heads × 512 rows): the row math is allocation-free; the
 * top-k / k-for-mass select sorts only the few histogram bins where a k or threshold is crossed
 * (see `probeRowAt`), and entropy takes a table logarithm per non-zero probability (`lnKey`).
 * The op on stories260K's five layers of one 512-token window: ≈ 80 ms (best of 6 on the 2-core
 * development machine; ≈ 103 ms before the hot loops took module arrays as locals, the collect pass
 * tested the crossing bins' key span first and count targets in the last bin took its mean). Where
 * the time goes (V8 line ticks): the table logarithm ≈ 20 %, the first pass (total, largest key:
 * the row's first touch, so its cache misses) ≈ 12 %, the collect pass ≈ 14 %, the bin walk ≈ 11 %.
 * The fused probe (`AttentionOptions.probe`) skips the first two: its softmax hands over the
 * entropy and largest key (`KnownRow`) and the row is still in cache; the probed forward
 * pass then costs ≈ 1.45× the plain one (`npm run bench:attention-probes`).
 */
import type { PatternProbeOptions, PatternProbeResult } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';

/** Mass thresholds for `k90`, `k95`, `k99`: the smallest k whose top-k mass reaches them. */
export const MASS_THRESHOLDS = [0.9, 0.95, 0.99] as const;

/** Slack under which a cumulative mass still counts as reaching a threshold (float32 rows). */
export const MASS_EPS = 1e-6;

/**
 * Value histogram of the top-k / k-for-mass select: bins of 1/8 octave (a float32 key's exponent
 * and top 3 mantissa bits; non-negative floats order like their u32 bits), counted down from the
 * row's largest key; keys 31+ octaves below it (and zeros) share the last bin.
 */
const BIN_SHIFT = 20;
const NBIN = 256;

// Module-level scratch of `probeRowAt` (synchronous, so never shared between calls in flight).
const binCount = new Int32Array(NBIN);
const binMass = new Float64Array(NBIN);
/** Start of each collected bin in the caller's scratch (−1: not collected), then its fill pointer. */
const binStart = new Int32Array(NBIN);
const binFill = new Int32Array(NBIN);
/** Per target (ks, then thresholds): its bin, and count and mass of the bins above it. */
const MAX_TARGETS = 64;
let tBin = new Int32Array(MAX_TARGETS);
let tCount = new Int32Array(MAX_TARGETS);
let tMass = new Float64Array(MAX_TARGETS);

/** u32 view of the last data array seen (keys of its floats). */
let keysOf: Float32Array | undefined;
let keys: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * ln x for a positive normal float32 x with key `bits`, to ~4e-11 (t³/3): a 2048-entry table at
 * the mantissa's top 11 bits and two terms of ln(1 + t) for the remainder 0 ≤ t < 2^−11 (exact
 * where t = 0, so ln 1 = 0; Math.log is ~3× slower and this runs once per key).
 */
const LN_BITS = 11;
const LN_TAB = new Float64Array(1 << LN_BITS);
const LN_INV = new Float64Array(1 << LN_BITS);
const EXP_LN = new Float64Array(256);
const EXP_INV = new Float64Array(256);
for (let i = 0; i < 1 << LN_BITS; i++) {
  const m0 = 1 + i / (1 << LN_BITS);
  LN_TAB[i] = Math.log(m0);
  LN_INV[i] = 1 / m0;
}
for (let e = 0; e < 256; e++) {
  EXP_LN[e] = (e - 127) * Math.LN2;
  EXP_INV[e] = 2 ** (127 - e);
}
function lnKey(x: number, bits: number): number {
  const e = bits >>> 23;
  if (e === 0) return Math.log(x); // subnormal
  const m = (bits >>> (23 - LN_BITS)) & ((1 << LN_BITS) - 1);
  const t = x * EXP_INV[e]! * LN_INV[m]! - 1;
  return EXP_LN[e]! + LN_TAB[m]! + t * (1 - 0.5 * t);
}

/** Sort a[lo, hi) ascending: insertion sort when short, the typed-array sort otherwise. */
function sortRange(a: Float32Array, lo: number, hi: number): void {
  if (hi - lo > 24) {
    a.subarray(lo, hi).sort();
    return;
  }
  for (let i = lo + 1; i < hi; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

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

/**
 * What the fused probe already knows of a row when its softmax is done: the entropy (from the
 * scores) and the largest probability's key (float bits). `probeRowAt` then skips its first pass
 * and takes no logarithm per key.
 */
export interface KnownRow {
  entropy: number;
  topKey: number;
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
 * `probeRow` on the n values data[off, off + n) (query row i = n − 1), without a subarray. With
 * `lines`, also adds the row into its head's column and diagonal sums (`lineSums`, same order).
 * With `known` (the fused probe's softmax computed them), the first pass and the logarithm per key
 * are skipped.
 *
 * Top-k coverage and k90/95/99 are exact selects rather than a sort: the pass that sums the
 * entropy also builds a (count, mass) histogram of the keys in 1/8-octave bins (`BIN_SHIFT`); a
 * walk over its bins from the top finds, for every k and threshold, the bin where the cumulative
 * count or mass crosses it. Only the elements of those few bins are collected (by bin) and sorted,
 * and the crossing is finished inside its bin. Equal values are interchangeable, so ties need no
 * rule: the top-r mass is the same whichever of them come first.
 */
export function probeRowAt(
  data: Float32Array,
  off: number,
  n: number,
  spec: RowProbeSpec,
  out: RowProbe,
  scratch: Float32Array,
  lines?: LineSums,
  known?: KnownRow,
): void {
  if (keysOf !== data) {
    keysOf = data;
    keys = new Uint32Array(data.buffer, data.byteOffset, data.length);
  }
  // Module-level arrays as locals: hot loops then need no reload of the (mutable) bindings.
  const ky = keys;
  const bc = binCount;
  const bm = binMass;
  const i = n - 1;
  const end = off + n;
  // The largest key: given by the fused probe's softmax, else a first pass.
  let top = 0;
  if (known) top = known.topKey;
  else {
    for (let j = off; j < end; j++) {
      const k = ky[j]!;
      if (k > top) top = k;
    }
  }
  const topBin = top >>> BIN_SHIFT;
  binCount.fill(0);
  binMass.fill(0);
  // One pass by distance d = i − j, one locality bucket (a contiguous key range) at a time: total,
  // Σ x ln x (entropy = ln total − Σ x ln x / total), Σ x d (distance), locality, histogram.
  let total = 0;
  let xlnx = 0;
  const withLog = known === undefined;
  let dist = 0;
  const loc = out.locality;
  loc.fill(0);
  // Optional line sums of the row's head, folded into this pass (the row is already loaded).
  const cols = lines?.cols;
  const diags = lines?.diags;
  for (let b = 0, dLo = 0; dLo <= i; b++) {
    const dHi = b === 0 ? 0 : Math.min(i, 2 * dLo - 1);
    let s = 0;
    for (let d = dLo; d <= dHi; d++) {
      const j = end - 1 - d;
      const x = data[j]!;
      const k = ky[j]!;
      s += x;
      if (x > 0) {
        if (withLog) xlnx += x * lnKey(x, k);
        dist += x * d;
      }
      const bin = Math.min(NBIN - 1, topBin - (k >>> BIN_SHIFT));
      bc[bin]!++;
      bm[bin]! += x;
      if (cols !== undefined) {
        cols[j - off]! += x;
        diags![d]! += x;
      }
    }
    if (b < loc.length) loc[b] = s;
    total += s;
    dLo = dHi + 1;
  }
  if (!(total > 0)) throw new Error(`query row ${i} has no attention mass (sum ${total})`);
  const inv = 1 / total;
  for (let b = 0; b < loc.length; b++) loc[b]! *= inv;
  out.entropy = known ? known.entropy : Math.log(total) - xlnx * inv;
  out.meanDistance = dist * inv;
  let sink = 0;
  const ns = Math.min(spec.nSink, n);
  for (let j = 0; j < ns; j++) sink += data[off + j]!;
  out.sinkMass = sink * inv;

  // Targets: ks below n (count), then the thresholds (mass); find each one's crossing bin.
  const { ks } = spec;
  const nT = MASS_THRESHOLDS.length;
  if (ks.length + nT > tBin.length) {
    tBin = new Int32Array(ks.length + nT);
    tCount = new Int32Array(ks.length + nT);
    tMass = new Float64Array(ks.length + nT);
  }
  let nk = 0;
  while (nk < ks.length && ks[nk]! < n) nk++;
  for (let q = nk; q < ks.length; q++) out.coverage[q] = 1;
  binStart.fill(-1);
  let ki = 0;
  let ti = 0;
  let cc = 0;
  let cm = 0;
  let collected = 0;
  let bFirst = -1;
  let bLast = -1;
  // Count targets crossing in the last bin (keys 31+ octaves below the largest) take its mean
  // instead of being collected: the error, below need · 2^−31 of the row's mass, is under the
  // float32 resolution of the coverage (≈ 1 in such a peaked row). They need no walk either: the
  // last bin holds the ranks from aboveTail on.
  const aboveTail = n - binCount[NBIN - 1]!;
  for (let b = 0; b < NBIN && ((ki < nk && ks[ki]! <= aboveTail) || ti < nT); b++) {
    const c = binCount[b]!;
    if (c === 0) continue;
    const m = binMass[b]!;
    const kFirst = ki;
    const tFirst = ti;
    while (ki < nk && ks[ki]! <= cc + c) {
      tBin[ki] = b;
      tCount[ki] = cc;
      tMass[ki++] = cm;
    }
    while (ti < nT && cm + m >= (MASS_THRESHOLDS[ti]! - MASS_EPS) * total) {
      tBin[nk + ti] = b;
      tCount[nk + ti] = cc;
      tMass[nk + ti++] = cm;
    }
    if (b === NBIN - 1 ? ti > tFirst : ki + ti > kFirst + tFirst) {
      if (bFirst < 0) bFirst = b;
      bLast = b;
      binStart[b] = collected;
      binFill[b] = collected;
      collected += c;
    }
    cc += c;
    cm += m;
  }
  for (; ki < nk; ki++) {
    tBin[ki] = NBIN - 1;
    tCount[ki] = aboveTail;
    tMass[ki] = total - binMass[NBIN - 1]!;
  }
  // A threshold the bins' masses never reach (float rounding only): all n keys.
  for (let t = ti; t < nT; t++) out.kFor[t] = n;
  if (collected > 0) {
    const starts = binStart;
    const fill = binFill;
    // Only keys in [lo, hi), the span of the crossing bins, can be collected: one cheap test
    // rejects the rest (in a peaked row, most keys lie far below the crossing bins).
    const hi = (topBin - bFirst + 1) << BIN_SHIFT;
    const lo = bLast === NBIN - 1 ? 0 : (topBin - bLast) << BIN_SHIFT;
    for (let j = off; j < end; j++) {
      const k = ky[j]!;
      if (k >= lo && k < hi) {
        const bin = Math.min(NBIN - 1, topBin - (k >>> BIN_SHIFT));
        if (starts[bin]! >= 0) scratch[fill[bin]!++] = data[j]!;
      }
    }
  }
  if (keysOfScratch !== scratch) {
    keysOfScratch = scratch;
    scratchKeys = new Uint32Array(scratch.buffer, scratch.byteOffset, scratch.length);
  }
  let sortedBin = -1;
  for (let q = 0; q < nk + ti; q++) {
    const b = tBin[q]!;
    const s = binStart[b]!;
    const e = s + binCount[b]!;
    const isCount = q < nk;
    const need = isCount ? ks[q]! - tCount[q]! : 0;
    if (isCount && b === NBIN - 1) {
      out.coverage[q] = Math.min(1, (tMass[q]! + (need * binMass[b]!) / binCount[b]!) * inv);
      continue;
    }
    const goal = isCount ? 0 : (MASS_THRESHOLDS[q - nk]! - MASS_EPS) * total - tMass[q]!;
    let r: number;
    // Small bins are simply sorted; the last bin (mixed exponents) is split by exponent.
    if (e - s <= SMALL_BIN) {
      if (b !== sortedBin) sortRange(scratch, s, e);
      sortedBin = b;
      r = takeSorted(scratch, s, e, isCount, need, goal);
    } else {
      const shift = b === NBIN - 1 ? 23 : SUB_SHIFT;
      r = takeInBin(scratch, scratchKeys, s, e, shift, isCount, need, goal);
    }
    if (isCount) out.coverage[q] = Math.min(1, (tMass[q]! + taken) * inv);
    else out.kFor[q - nk] = tCount[q]! + r;
  }
}

/** Bins up to this size are sorted whole; larger ones are split into sub-bins first. */
const SMALL_BIN = 32;
/** Sub-bins of a bin: the next 8 key bits below BIN_SHIFT (1/2048 octave). */
const SUB_SHIFT = BIN_SHIFT - 8;
const NSUB = 256;
const subCount = new Int32Array(NSUB);
const subMass = new Float64Array(NSUB);
let sub = new Float32Array(64);
let keysOfScratch: Float32Array | undefined;
let scratchKeys: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
/** Mass of the elements the last `takeSorted` / `takeInBin` took. */
let taken = 0;

/**
 * From a[s, e) sorted ascending, take the largest: `need` of them (isCount), or the fewest whose
 * mass reaches `goal` (all of them when rounding leaves it unreached). Returns their number.
 */
function takeSorted(
  a: Float32Array,
  s: number,
  e: number,
  isCount: boolean,
  need: number,
  goal: number,
): number {
  let m = 0;
  let r = 0;
  if (isCount) for (; r < need; r++) m += a[e - 1 - r]!;
  else while (s + r < e && m < goal) m += a[e - 1 - r++]!;
  taken = m;
  return r;
}

/**
 * `takeSorted` on the unsorted elements a[s, e) of one bin (keys `ak`): a 256-bin sub-histogram
 * of key bits [shift, shift + 8) (the bits below the bin's own: its keys share those above) finds
 * the sub-bin where the crossing happens; only that sub-bin is sorted, unless its values are all
 * equal (e.g. zeros).
 */
function takeInBin(
  a: Float32Array,
  ak: Uint32Array,
  s: number,
  e: number,
  shift: number,
  isCount: boolean,
  need: number,
  goal: number,
): number {
  subCount.fill(0);
  subMass.fill(0);
  for (let j = s; j < e; j++) {
    const sb = NSUB - 1 - ((ak[j]! >>> shift) & (NSUB - 1));
    subCount[sb]!++;
    subMass[sb]! += a[j]!;
  }
  let cc = 0;
  let cm = 0;
  let sb = 0;
  for (; sb < NSUB - 1; sb++) {
    const c = subCount[sb]!;
    if (isCount ? cc + c >= need : cm + subMass[sb]! >= goal) break;
    cc += c;
    cm += subMass[sb]!;
  }
  const c = subCount[sb]!;
  if (sub.length < c) sub = new Float32Array(Math.max(c, 2 * sub.length));
  let m = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = s; j < e; j++) {
    if (NSUB - 1 - ((ak[j]! >>> shift) & (NSUB - 1)) === sb) {
      const x = a[j]!;
      sub[m++] = x;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  if (lo !== hi) sortRange(sub, 0, m);
  const r = takeSorted(sub, 0, m, isCount, need - cc, goal - cm);
  taken += cm;
  return cc + r;
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
 * Writes `patternProbe`'s rows [nHeads, T, width] and lines [nHeads, 2, T] one query row at a time,
 * heads in order: `patternProbeArrays` feeds it stored patterns, the CPU attention kernel its rows
 * as they are computed (the fused probe: no [nHeads, T, T] pattern is stored).
 */
export class PatternProbeWriter {
  readonly rows: Float32Array;
  readonly lines: Float32Array;
  private readonly layout: PatternProbeLayout;
  private readonly row: RowProbe;
  private readonly scratch: Float32Array;
  private readonly sums: LineSums;
  private head = -1;

  constructor(
    readonly nHeads: number,
    readonly T: number,
    private readonly spec: PatternProbeOptions,
  ) {
    this.layout = patternProbeLayout(spec);
    this.rows = new Float32Array(nHeads * T * this.layout.width);
    this.lines = new Float32Array(nHeads * 2 * T);
    this.row = emptyRowProbe(spec);
    this.scratch = new Float32Array(T);
    this.sums = { cols: new Float64Array(T), diags: new Float64Array(T), total: 0 };
  }

  /**
   * Probe query row i of head h: data[off, off + i + 1), with what the softmax `known` of it.
   */
  add(h: number, i: number, data: Float32Array, off: number, known?: KnownRow): void {
    const { T, layout: L, row, sums } = this;
    if (h !== this.head) {
      if (this.head >= 0) this.flushLines();
      sums.cols.fill(0);
      sums.diags.fill(0);
      this.head = h;
    }
    probeRowAt(data, off, i + 1, this.spec, row, this.scratch, sums, known);
    const o = (h * T + i) * L.width;
    const { rows } = this;
    rows[o] = row.entropy;
    rows[o + 1] = row.sinkMass;
    rows[o + 2] = row.meanDistance;
    for (let t = 0; t < 3; t++) rows[o + 3 + t] = row.kFor[t]!;
    for (let k = 0; k < row.coverage.length; k++) rows[o + L.coverage + k] = row.coverage[k]!;
    for (let b = 0; b < row.locality.length; b++) rows[o + L.locality + b] = row.locality[b]!;
  }

  /** Rows and lines, once every row of every head has been added. */
  finish(): { rows: Float32Array; lines: Float32Array } {
    if (this.head >= 0) this.flushLines();
    this.head = -1;
    return { rows: this.rows, lines: this.lines };
  }

  private flushLines(): void {
    const { T, sums, head } = this;
    this.lines.set(sums.cols, head * 2 * T);
    this.lines.set(sums.diags, head * 2 * T + T);
  }
}

/** Check `AttentionOptions.probe` against an attention's shape: a square pattern from key 0. */
export function checkFusedProbe(
  nHeads: number,
  t: number,
  tk: number,
  pos0: number,
  spec: PatternProbeOptions,
): void {
  if (pos0 !== 0 || tk !== t) {
    throw new Error(
      `attention: probe needs pos0 0 and as many keys as queries, got pos0 ${pos0} and ${tk} keys for ${t} queries`,
    );
  }
  patternProbeDims([nHeads, t, t], spec);
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
  const w = new PatternProbeWriter(nHeads, T, opts);
  for (let h = 0; h < nHeads; h++) for (let i = 0; i < T; i++) w.add(h, i, probs, (h * T + i) * T);
  return w.finish();
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
