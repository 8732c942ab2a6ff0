/**
 * Per-layer sparsity allocation: how a global sparsity budget is split between layers.
 *
 * `sensitivityAllocation` is a rank-based scheme in the spirit of OWL ("Outlier Weighed Layerwise
 * Sparsity", Yin et al.), which gives layers with more outliers (more sensitive) less sparsity within
 * a band [target − λ, target + λ]:
 *
 *   c_l = (mean rank − rank_l) / ((L − 1)/2) ∈ [−1, 1]   (rank 0 = least sensitive, ties averaged)
 *   s_l = clip(target + λ·c_l + μ, min, max)
 *
 * where the shift μ is solved (bisection on a monotone, continuous function) so that the
 * parameter-weighted mean Σ size_l·s_l / Σ size_l equals the target. Ranks instead of raw values
 * keep the spread independent of the sensitivity metric's scale (loss deltas, outlier ratios,
 * perplexities all work). A uniform shift keeps the order: a less sensitive layer never gets less
 * sparsity than a more sensitive one.
 */

/**
 * The same sparsity for every layer.
 *
 * @example
 * uniformAllocation(3, 0.5); // [0.5, 0.5, 0.5]
 */
export function uniformAllocation(layers: number, sparsity: number): number[] {
  if (!Number.isInteger(layers) || layers < 0)
    throw new RangeError(`uniformAllocation: invalid layer count ${layers}`);
  if (!(sparsity >= 0 && sparsity <= 1))
    throw new RangeError(`uniformAllocation: sparsity ${sparsity} not in [0, 1]`);
  return new Array<number>(layers).fill(sparsity);
}

export interface SensitivityAllocationOptions {
  /** Lowest sparsity any layer may get (default 0). */
  min?: number;
  /** Highest sparsity any layer may get (default 1). */
  max?: number;
  /** λ, half-width of the band around the target before clipping (default 0.08, OWL's usual λ). */
  spread?: number;
}

/** Ranks 0..L−1 by ascending value, ties sharing their average rank. */
function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j) / 2;
    i = j + 1;
  }
  return ranks;
}

/**
 * Sparsity per layer from per-layer sensitivities (higher = pruning hurts more) and parameter counts:
 * less sensitive layers get more sparsity, the parameter-weighted mean equals `targetSparsity`
 * (within 1e-9), and every value lies in [min, max].
 *
 * @example
 * sensitivityAllocation([3, 1, 2], [100, 100, 100], 0.5); // [0.42, 0.58, 0.5]
 */
export function sensitivityAllocation(
  sensitivities: readonly number[],
  sizes: readonly number[],
  targetSparsity: number,
  options: SensitivityAllocationOptions = {},
): number[] {
  const { min = 0, max = 1, spread = 0.08 } = options;
  const L = sensitivities.length;
  if (sizes.length !== L)
    throw new RangeError(`sensitivityAllocation: ${L} sensitivities but ${sizes.length} sizes`);
  if (sensitivities.some((s) => !Number.isFinite(s)))
    throw new RangeError('sensitivityAllocation: non-finite sensitivity');
  if (sizes.some((s) => !(s >= 0)) || !sizes.some((s) => s > 0)) {
    throw new RangeError('sensitivityAllocation: sizes must be ≥ 0 with at least one > 0');
  }
  if (!(min >= 0 && max <= 1 && min <= max))
    throw new RangeError(`sensitivityAllocation: invalid band [${min}, ${max}]`);
  if (!(targetSparsity >= min && targetSparsity <= max)) {
    throw new RangeError(`sensitivityAllocation: target ${targetSparsity} is outside [${min}, ${max}]`);
  }
  if (!(spread >= 0)) throw new RangeError(`sensitivityAllocation: invalid spread ${spread}`);

  const ranks = averageRanks(sensitivities);
  const meanRank = (L - 1) / 2;
  const base = ranks.map((r) => targetSparsity + (L > 1 ? (spread * (meanRank - r)) / meanRank : 0));
  const total = sizes.reduce((a, b) => a + b, 0);
  const at = (mu: number) => base.map((b) => Math.min(max, Math.max(min, b + mu)));
  const mean = (mu: number) => at(mu).reduce((acc, s, l) => acc + s * sizes[l]!, 0) / total;

  // mean(μ) is continuous and non-decreasing, from min (μ very negative) to max (μ very positive).
  let lo = -1 - spread;
  let hi = 1 + spread;
  for (let it = 0; it < 200 && hi - lo > 1e-15; it++) {
    const mid = (lo + hi) / 2;
    if (mean(mid) < targetSparsity) lo = mid;
    else hi = mid;
  }
  return at((lo + hi) / 2);
}
