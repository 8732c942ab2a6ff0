/**
 * Exact per-query top-k over the causal scores q·k/√d: the oracle the approximate families chase.
 */
import type { HeadMasks, LayerQK } from '../types';
import { emptyMasks, keepSelfPlusTop, rowBudgets, rowScores, validateQK } from './common';

/**
 * Keep, per head and query, the diagonal plus the n_i − 1 highest-scoring earlier keys.
 *
 * @example
 * topkMask(input, 16);   // 16 keys per query (fewer in the first rows)
 * topkMask(input, 0.25); // a quarter of each row's causal keys
 */
export function topkMask(input: LayerQK, budget: number): HeadMasks {
  validateQK(input);
  const { T, nHeads } = input;
  const n = rowBudgets(T, budget, true, 'topk');
  const masks = emptyMasks(T, nHeads);
  const s = new Float64Array(T);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) {
      // Full rows need no scores: skip the O(i·d) work (density 1 is then free).
      if (n[i]! < i + 1) rowScores(input, h, i, s);
      keepSelfPlusTop(masks.keep, (h * T + i) * T, i, n[i]!, s);
    }
  }
  return masks;
}
