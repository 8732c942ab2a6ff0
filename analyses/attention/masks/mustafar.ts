/**
 * Mustafar ("Promoting Unstructured Sparsity for KV Cache Pruning"; ../shared/METHODS.md, Sparse
 * attention): per-token magnitude pruning of the K and V cache elements. Every token's key vector
 * in each KV head (its headDim elements, after rope: the cached key) keeps its largest-|x| elements
 * and the rest become 0; every value vector is pruned the same way on its own magnitudes. K and V
 * are pruned separately because K has outlier channels while V is uniform; ranking each token's
 * vector within itself keeps every token (no eviction) and lets each keep its own channels.
 *
 * The budget is the share of elements kept per vector, the same for K and V (the paper prunes
 * both at one target sparsity, 1 − budget). Attention itself stays dense over the pruned cache, so
 * the family's attention mask keeps every causal entry; what it saves is in the KV bytes (a sparse
 * cache) and in the FLOPs of the products with the sparse K and V (mask-costs.ts).
 */
import type { HeadMasks, LayerQK } from '../types';
import { emptyMasks, validateQK } from './common';

/**
 * Elements kept per head vector at a budget in (0, 1]: round(budget · headDim), at least 1.
 *
 * @example
 * keptElements(0.3, 64); // 19
 * @throws RangeError for a budget outside (0, 1].
 */
export function keptElements(budget: number, headDim: number): number {
  if (!(budget > 0 && budget <= 1)) {
    throw new RangeError(
      `mustafar: budget ${budget} must be the share of K and V elements kept per token, in (0, 1]`,
    );
  }
  return Math.max(1, Math.min(headDim, Math.round(budget * headDim)));
}

/**
 * A copy of a [T, nKvHeads·headDim] cache (K after rope, or V) in which every token's vector of
 * each KV head keeps only its `keep` largest-|x| elements (ties → the lower channel), the rest 0.
 *
 * @example
 * pruneKvElements(Float32Array.of(0.1, -3, 2, 0.5), 4, 2); // [0, -3, 2, 0]
 */
export function pruneKvElements(x: Float32Array, headDim: number, keep: number): Float32Array {
  if (x.length % headDim !== 0) {
    throw new RangeError(`pruneKvElements: ${x.length} values are not whole vectors of ${headDim}`);
  }
  if (!(Number.isInteger(keep) && keep >= 1 && keep <= headDim)) {
    throw new RangeError(`pruneKvElements: keep ${keep} must be a whole number in [1, ${headDim}]`);
  }
  const out = new Float32Array(x.length);
  const order = Array.from({ length: headDim }, (_, c) => c);
  for (let o = 0; o < x.length; o += headDim) {
    order.sort((a, b) => Math.abs(x[o + b]!) - Math.abs(x[o + a]!) || a - b);
    for (let r = 0; r < keep; r++) out[o + order[r]!] = x[o + order[r]!]!;
  }
  return out;
}

/**
 * The attention mask of Mustafar: every causal entry (the pruning is inside K and V, applied by
 * `maskedLoss`'s `kvElements`). Validates the budget.
 *
 * @example
 * mustafarMask(layerQK, 0.3).keep; // 1 on and below the diagonal
 */
export function mustafarMask(input: LayerQK, budget: number): HeadMasks {
  validateQK(input);
  keptElements(budget, input.headDim);
  const { T, nHeads } = input;
  const masks = emptyMasks(T, nHeads);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) masks.keep.fill(1, (h * T + i) * T, (h * T + i) * T + i + 1);
  }
  return masks;
}
