/**
 * The cliff of an accuracy–sparsity curve ("The Emergence of Essential Sparsity in Large
 * Pre-trained Models"): under one-shot pruning quality stays nearly flat up to a point, then drops
 * sharply. Reading used here: the essential sparsity is the highest sparsity whose loss is within
 * `tolerance` (relative, default 1 %) of the dense loss, with every lower sparsity also within it;
 * the cliff is the step right after it, where the loss leaves the tolerance band. The curve's
 * steepest step (largest Δloss / Δsparsity) is reported beside it.
 */

export interface CurvePoint {
  sparsity: number;
  loss: number;
}

export interface Cliff {
  /** Highest sparsity still within tolerance (0 when even the first pruned point is not). */
  essentialSparsity: number;
  /** First sparsity outside the tolerance band, or null when the whole curve stays inside. */
  cliffSparsity: number | null;
  /** Index in the sorted curve of the essential-sparsity point (−1 if only dense qualifies). */
  index: number;
  /** The steepest step: from sparsity a to b, with its slope in loss per unit sparsity. */
  steepest: { from: number; to: number; slope: number } | null;
}

/**
 * @example
 * findCliff([{sparsity: 0.1, loss: 2.01}, {sparsity: 0.5, loss: 2.015}, {sparsity: 0.7, loss: 2.6}], 2.0);
 * // { essentialSparsity: 0.5, cliffSparsity: 0.7, index: 1, … }
 */
export function findCliff(points: readonly CurvePoint[], denseLoss: number, tolerance = 0.01): Cliff {
  const sorted = [...points].sort((a, b) => a.sparsity - b.sparsity);
  const limit = denseLoss * (1 + tolerance);
  let index = -1;
  while (index + 1 < sorted.length && sorted[index + 1]!.loss <= limit) index++;
  const curve = [{ sparsity: 0, loss: denseLoss }, ...sorted.filter((p) => p.sparsity > 0)];
  let steepest: Cliff['steepest'] = null;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    const slope = (b.loss - a.loss) / (b.sparsity - a.sparsity);
    if (Number.isFinite(slope) && (!steepest || slope > steepest.slope)) {
      steepest = { from: a.sparsity, to: b.sparsity, slope };
    }
  }
  return {
    essentialSparsity: index >= 0 ? sorted[index]!.sparsity : 0,
    cliffSparsity: sorted[index + 1]?.sparsity ?? null,
    index,
    steepest,
  };
}
