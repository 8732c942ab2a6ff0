/**
 * Aggregation of the probe metrics over windows: per (layer, head) means over every query row of
 * every window, and per (layer, head, query position) means over windows.
 */
import { patternProbeArrays, patternProbeLayout } from '../../kernels/pattern-probe.cpu';
import { bucketCount, lineScoresFromSums, MASS_THRESHOLDS, type RowProbeSpec } from './probe-metrics';
import type { LayerPattern } from './types';

/**
 * One layer's probes of one window, as `Backend.patternProbe` returns them (read back): rows
 * [nHeads, T, width] (`patternProbeLayout`) and lines [nHeads, 2, T].
 */
export interface LayerProbe {
  layer: number;
  T: number;
  nHeads: number;
  rows: Float32Array;
  lines: Float32Array;
}

/** Model shape the accumulator is sized for. */
export interface ProbeShape {
  nLayers: number;
  nHeads: number;
  /** Longest window (the model's sequence length). */
  seqLen: number;
}

/** Fixed settings of a probe run. */
export interface ProbeSettings {
  /** Top-k coverage sizes, ascending. */
  ks: readonly number[];
  /** Leading tokens of each window counted as the sink. */
  nSink: number;
  /** c of the vertical / slash scores (`lineScores`). */
  lines: number;
}

/** Means of one head over all query rows of all windows. */
export interface HeadProbe {
  layer: number;
  head: number;
  /** Query rows aggregated (all windows). */
  rows: number;
  /** Mean entropy, nats. */
  entropy: number;
  /** Mean of entropy / log(i + 1) over rows i ≥ 1, in [0, 1] (1 = uniform over the causal keys). */
  normalizedEntropy: number;
  /** Mean top-k mass, one per k of the settings. */
  coverage: number[];
  k90: number;
  k95: number;
  k99: number;
  sinkMass: number;
  meanDistance: number;
  /** Mean mass per distance bucket (`distanceBucket`); sums to 1. */
  locality: number[];
  /** Mean over windows (weighted by window length) of `lineScores(...).vertical`. */
  vertical: number;
  /** Same for `slash`. */
  slash: number;
}

/** Per-position means, [nLayers, nHeads, seqLen] row-major; `windows` is per position. */
export interface PositionProbes {
  entropy: Float64Array;
  sinkMass: Float64Array;
  meanDistance: Float64Array;
  /** Windows long enough to contain each position, [seqLen]. */
  windows: Int32Array;
}

/**
 * Adds layer patterns one at a time; `heads()` and `positions()` read the means so far.
 *
 * @example
 * const acc = new ProbeAccumulator({ nLayers: 1, nHeads: 2, seqLen: 8 }, { ks: [1, 4], nSink: 1, lines: 2 });
 * acc.add({ layer: 0, T: 8, nHeads: 2, probs });
 * acc.heads()[0]!.sinkMass;
 */
export class ProbeAccumulator {
  readonly spec: RowProbeSpec;
  private readonly nH: number;
  // Per (layer, head) sums, float64: [entropy, normEntropy, sink, distance, k90, k95, k99, vertical, slash].
  private readonly sums: Float64Array;
  private readonly coverage: Float64Array;
  private readonly locality: Float64Array;
  private readonly rows: Float64Array;
  private readonly normRows: Float64Array;
  private readonly lineWeight: Float64Array;
  private readonly pos: { entropy: Float64Array; sink: Float64Array; distance: Float64Array };
  private readonly posWindows: Int32Array;
  private static readonly F = 9;

  constructor(
    readonly shape: ProbeShape,
    readonly settings: ProbeSettings,
  ) {
    const { ks, nSink, lines } = settings;
    if (ks.length === 0 || ks.some((k, i) => !Number.isInteger(k) || k < 1 || (i > 0 && k <= ks[i - 1]!))) {
      throw new Error(`ks must be ascending positive integers, got [${ks.join(', ')}]`);
    }
    if (!Number.isInteger(nSink) || nSink < 0) throw new Error(`nSink must be an integer ≥ 0, got ${nSink}`);
    if (!Number.isInteger(lines) || lines < 1) throw new Error(`lines must be an integer ≥ 1, got ${lines}`);
    this.spec = { ks, nSink, nBuckets: bucketCount(shape.seqLen) };
    this.nH = shape.nLayers * shape.nHeads;
    this.sums = new Float64Array(this.nH * ProbeAccumulator.F);
    this.coverage = new Float64Array(this.nH * ks.length);
    this.locality = new Float64Array(this.nH * this.spec.nBuckets);
    this.rows = new Float64Array(this.nH);
    this.normRows = new Float64Array(this.nH);
    this.lineWeight = new Float64Array(this.nH);
    const nPos = this.nH * shape.seqLen;
    this.pos = {
      entropy: new Float64Array(nPos),
      sink: new Float64Array(nPos),
      distance: new Float64Array(nPos),
    };
    this.posWindows = new Int32Array(shape.seqLen);
  }

  /** Add one layer's pattern of one window (its probes computed on the host, CPU reference). */
  add(pattern: LayerPattern): void {
    const { layer, T, nHeads, probs } = pattern;
    this.check(layer, nHeads, T);
    if (probs.length !== nHeads * T * T) {
      throw new Error(`pattern probs has ${probs.length} values, expected ${nHeads}×${T}×${T}`);
    }
    const { rows, lines } = patternProbeArrays(probs, nHeads, T, this.spec);
    this.addProbe({ layer, T, nHeads, rows, lines });
  }

  private check(layer: number, nHeads: number, T: number): void {
    const { nLayers, seqLen } = this.shape;
    if (layer < 0 || layer >= nLayers || nHeads !== this.shape.nHeads || T < 1 || T > seqLen) {
      throw new Error(
        `pattern (layer ${layer}, ${nHeads} heads, T ${T}) does not fit ${nLayers} layers × ${this.shape.nHeads} heads, seqLen ${seqLen}`,
      );
    }
  }

  /** Add one layer's probes of one window (`Backend.patternProbe` with this accumulator's `spec`). */
  addProbe(probe: LayerProbe): void {
    const { layer, T, nHeads, rows, lines } = probe;
    this.check(layer, nHeads, T);
    const L = patternProbeLayout(this.spec);
    const W = L.width;
    if (rows.length !== nHeads * T * W || lines.length !== nHeads * 2 * T) {
      throw new Error(
        `probe rows/lines have ${rows.length}/${lines.length} values, expected ${nHeads}×${T}×${W} / ${nHeads}×2×${T}`,
      );
    }
    const { seqLen } = this.shape;
    const F = ProbeAccumulator.F;
    const { ks, nBuckets } = this.spec;
    const nT = MASS_THRESHOLDS.length;
    for (let h = 0; h < nHeads; h++) {
      const hi = layer * nHeads + h;
      const s = hi * F;
      for (let i = 0; i < T; i++) {
        const o = (h * T + i) * W;
        const entropy = rows[o + L.entropy]!;
        const sinkMass = rows[o + L.sinkMass]!;
        const meanDistance = rows[o + L.meanDistance]!;
        this.sums[s]! += entropy;
        if (i > 0) {
          this.sums[s + 1]! += entropy / Math.log(i + 1);
          this.normRows[hi]!++;
        }
        this.sums[s + 2]! += sinkMass;
        this.sums[s + 3]! += meanDistance;
        for (let t = 0; t < nT; t++) this.sums[s + 4 + t]! += rows[o + L.kFor + t]!;
        for (let k = 0; k < ks.length; k++) this.coverage[hi * ks.length + k]! += rows[o + L.coverage + k]!;
        for (let b = 0; b < nBuckets; b++) this.locality[hi * nBuckets + b]! += rows[o + L.locality + b]!;
        const p = hi * seqLen + i;
        this.pos.entropy[p]! += entropy;
        this.pos.sink[p]! += sinkMass;
        this.pos.distance[p]! += meanDistance;
      }
      this.rows[hi]! += T;
      const cols = lines.subarray(h * 2 * T, h * 2 * T + T);
      const diags = lines.subarray(h * 2 * T + T, (h + 1) * 2 * T);
      let total = 0;
      for (let j = 0; j < T; j++) total += cols[j]!;
      const ls = lineScoresFromSums(cols, diags, total, T, this.settings.lines);
      this.sums[s + 7]! += T * ls.vertical;
      this.sums[s + 8]! += T * ls.slash;
      this.lineWeight[hi]! += T;
    }
    if (layer === 0) for (let i = 0; i < T; i++) this.posWindows[i]!++;
  }

  /** Per-head means, layers then heads in order. */
  heads(): HeadProbe[] {
    const F = ProbeAccumulator.F;
    const { ks, nBuckets } = this.spec;
    const out: HeadProbe[] = [];
    for (let hi = 0; hi < this.nH; hi++) {
      const n = this.rows[hi]!;
      const mean = (x: number) => (n > 0 ? x / n : NaN);
      const s = hi * F;
      const lw = this.lineWeight[hi]!;
      out.push({
        layer: Math.floor(hi / this.shape.nHeads),
        head: hi % this.shape.nHeads,
        rows: n,
        entropy: mean(this.sums[s]!),
        normalizedEntropy: this.normRows[hi]! > 0 ? this.sums[s + 1]! / this.normRows[hi]! : NaN,
        sinkMass: mean(this.sums[s + 2]!),
        meanDistance: mean(this.sums[s + 3]!),
        k90: mean(this.sums[s + 4]!),
        k95: mean(this.sums[s + 5]!),
        k99: mean(this.sums[s + 6]!),
        coverage: Array.from(ks, (_, k) => mean(this.coverage[hi * ks.length + k]!)),
        locality: Array.from({ length: nBuckets }, (_, b) => mean(this.locality[hi * nBuckets + b]!)),
        vertical: lw > 0 ? this.sums[s + 7]! / lw : NaN,
        slash: lw > 0 ? this.sums[s + 8]! / lw : NaN,
      });
    }
    return out;
  }

  /** Per-position means over the windows that reach each position (NaN where none does). */
  positions(): PositionProbes {
    const { seqLen } = this.shape;
    const mean = (a: Float64Array) =>
      a.map((x, p) => {
        const n = this.posWindows[p % seqLen]!;
        return n > 0 ? x / n : NaN;
      });
    return {
      entropy: mean(this.pos.entropy),
      sinkMass: mean(this.pos.sink),
      meanDistance: mean(this.pos.distance),
      windows: this.posWindows.slice(),
    };
  }
}
