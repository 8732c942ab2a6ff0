/**
 * SAE evaluation metrics (METHODS.md "Sparse autoencoders", Metrics), as pure functions of one
 * batch and as a streaming accumulator for an evaluation set of many batches.
 *
 * - MSE: (1/n)·Σ_i ‖x_i − x̂_i‖² (summed over d_in, as the training loss).
 * - Explained variance: 1 − Σ_i ‖x_i − x̂_i‖² / Σ_i ‖x_i − x̄‖², x̄ the mean row of the whole set: the
 *   fraction of the data's total variance (about its mean, summed over dimensions) that the
 *   reconstruction accounts for. 0 for predicting x̄ everywhere, 1 for a perfect reconstruction.
 * - L0: mean number of non-zero latents per row.
 * - Dead: never active over the set. Dense: active on more than `denseThreshold` of the rows
 *   (METHODS.md leaves it open; our reading is 10 %, the usual cut for "dense latents").
 * - Density: each latent's firing frequency; the histogram is over log10 of it, dead latents
 *   counted apart since log10(0) = −∞.
 */
import { batchRows } from './types';

/** (1/n)·Σ_i ‖x_i − x̂_i‖². */
export function mse(x: Float32Array, xHat: Float32Array, dIn: number): number {
  const n = batchRows(x, dIn);
  if (xHat.length !== x.length) throw new Error(`reconstruction has ${xHat.length} values, data ${x.length}`);
  let s = 0;
  for (let t = 0; t < x.length; t++) s += (x[t]! - xHat[t]!) ** 2;
  return s / n;
}

/** 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² over the batch (NaN for constant data). */
export function explainedVariance(x: Float32Array, xHat: Float32Array, dIn: number): number {
  const acc = new SaeEvalAccumulator(dIn, 1);
  acc.add(x, xHat);
  return acc.result().explainedVariance;
}

/** Mean non-zeros per row of latents [n, dSae]. */
export function l0(latents: Float32Array, dSae: number): number {
  const n = batchRows(latents, dSae, 'latents');
  let nnz = 0;
  for (let t = 0; t < latents.length; t++) if (latents[t] !== 0) nnz++;
  return n === 0 ? 0 : nnz / n;
}

/**
 * Fraction of the loss gap between zero-ablating the hook and the clean model that splicing in
 * the SAE's reconstruction closes: (L_zero − L_spliced)/(L_zero − L_clean). 1 = as good as clean,
 * 0 = as bad as zeroing; NaN when zeroing costs nothing.
 *
 * @example
 * lossRecovered(2.0, 2.5, 7.0); // 0.9
 */
export function lossRecovered(clean: number, spliced: number, zeroAblated: number): number {
  const gap = zeroAblated - clean;
  return gap === 0 ? NaN : (zeroAblated - spliced) / gap;
}

/** Histogram of log10 firing frequency; `counts[b]` covers [edges[b], edges[b + 1]). */
export interface DensityHistogram {
  edges: Float64Array;
  counts: Int32Array;
  /** Latents that never fired (not in any bin). */
  dead: number;
}

/**
 * Bin log10 of the non-zero frequencies from `min` (default: the lowest possible, log10(1/tokens),
 * floored) to 0 in bins of `binWidth` (default 0.25 decades); frequency 1 goes in the last bin.
 */
export function densityHistogram(
  frequency: Float64Array,
  opts: { min?: number; binWidth?: number; tokens?: number } = {},
): DensityHistogram {
  const binWidth = opts.binWidth ?? 0.25;
  if (!(binWidth > 0)) throw new Error(`invalid histogram binWidth: ${binWidth}`);
  let lowest = 0;
  for (const f of frequency) if (f > 0) lowest = Math.min(lowest, Math.log10(f));
  const min = opts.min ?? Math.min(-1, Math.floor(opts.tokens ? -Math.log10(opts.tokens) : lowest));
  if (!(min < 0)) throw new Error(`invalid histogram min: ${min} (expected < 0)`);
  const nBins = Math.ceil(-min / binWidth);
  const edges = Float64Array.from({ length: nBins + 1 }, (_, b) => Math.min(0, min + b * binWidth));
  const counts = new Int32Array(nBins);
  let dead = 0;
  for (const f of frequency) {
    if (!(f > 0)) {
      dead++;
      continue;
    }
    const b = Math.floor((Math.log10(f) - min) / binWidth);
    counts[Math.max(0, Math.min(nBins - 1, b))]!++;
  }
  return { edges, counts, dead };
}

/** What `SaeEvalAccumulator.result` reports. */
export interface SaeEvalResult {
  tokens: number;
  mse: number;
  explainedVariance: number;
  /** NaN when no latents were given. */
  l0: number;
  deadFraction: number;
  denseFraction: number;
  /** [dSae] fraction of rows on which each latent is non-zero. */
  firingFrequency: Float64Array;
  densityHistogram: DensityHistogram;
}

/**
 * Streaming evaluation over many batches; the variance about the global mean is merged per batch
 * (Chan et al.'s parallel update) so large activation means do not cancel catastrophically.
 *
 * @example
 * const acc = new SaeEvalAccumulator(dIn, dSae);
 * for (const x of batches) { const f = forward(params, cfg, x); acc.add(x, f.reconstruction, f.latents); }
 * acc.result().explainedVariance;
 */
export class SaeEvalAccumulator {
  private tokens = 0;
  private sse = 0;
  private nnz = 0;
  private latentRows = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly fired: Float64Array;

  constructor(
    readonly dIn: number,
    readonly dSae: number,
    readonly denseThreshold = 0.1,
  ) {
    this.mean = new Float64Array(dIn);
    this.m2 = new Float64Array(dIn);
    this.fired = new Float64Array(dSae);
  }

  /** Add a batch: data [n, dIn], its reconstruction, and optionally its latents [n, dSae]. */
  add(x: Float32Array, xHat: Float32Array, latents?: Float32Array): void {
    const { dIn, dSae } = this;
    const n = batchRows(x, dIn);
    if (xHat.length !== x.length)
      throw new Error(`reconstruction has ${xHat.length} values, data ${x.length}`);
    if (n === 0) return;
    for (let t = 0; t < x.length; t++) this.sse += (x[t]! - xHat[t]!) ** 2;
    for (let d = 0; d < dIn; d++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i * dIn + d]!;
      const bMean = s / n;
      let bM2 = 0;
      for (let i = 0; i < n; i++) bM2 += (x[i * dIn + d]! - bMean) ** 2;
      const total = this.tokens + n;
      const delta = bMean - this.mean[d]!;
      this.m2[d]! += bM2 + (delta * delta * this.tokens * n) / total;
      this.mean[d]! += (delta * n) / total;
    }
    this.tokens += n;
    if (latents) {
      if (batchRows(latents, dSae, 'latents') !== n) {
        throw new Error(`latents have ${latents.length / dSae} rows, data ${n}`);
      }
      for (let i = 0; i < n; i++) {
        const r = i * dSae;
        for (let j = 0; j < dSae; j++) {
          if (latents[r + j] !== 0) {
            this.fired[j]!++;
            this.nnz++;
          }
        }
      }
      this.latentRows += n;
    }
  }

  result(): SaeEvalResult {
    const { tokens, dSae, latentRows } = this;
    let totalVar = 0;
    for (const v of this.m2) totalVar += v;
    const firingFrequency = this.fired.map((c) => (latentRows ? c / latentRows : 0));
    let dead = 0;
    let dense = 0;
    for (const f of firingFrequency) {
      if (f === 0) dead++;
      else if (f > this.denseThreshold) dense++;
    }
    return {
      tokens,
      mse: tokens ? this.sse / tokens : NaN,
      explainedVariance: totalVar > 0 ? 1 - this.sse / totalVar : NaN,
      l0: latentRows ? this.nnz / latentRows : NaN,
      deadFraction: latentRows ? dead / dSae : NaN,
      denseFraction: latentRows ? dense / dSae : NaN,
      firingFrequency,
      densityHistogram: densityHistogram(firingFrequency, latentRows ? { tokens: latentRows } : {}),
    };
  }
}
