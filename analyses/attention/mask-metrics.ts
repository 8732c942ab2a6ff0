/**
 * What a mask keeps: density (share of causal entries) and recall (share of attention mass), per
 * head and overall. METHODS.md, "Attention sparsity".
 */
import type { HeadMasks, LayerPattern } from './types';

export interface MaskMetric {
  overall: number;
  /** [nHeads] */
  perHead: Float64Array;
}

/**
 * Kept causal entries ÷ all causal entries, T(T + 1)/2 per head (the diagonal counts). Entries
 * above the diagonal are ignored even if set.
 *
 * @example
 * maskDensity(buildMask('topk', qk, 0.25)).overall; // ≈ 0.25
 */
export function maskDensity(masks: HeadMasks): MaskMetric {
  const { T, nHeads, keep } = masks;
  if (keep.length !== nHeads * T * T)
    throw new Error(`mask has ${keep.length} entries; want ${nHeads * T * T}`);
  const perHead = new Float64Array(nHeads);
  const causal = (T * (T + 1)) / 2;
  let total = 0;
  for (let h = 0; h < nHeads; h++) {
    let kept = 0;
    for (let i = 0; i < T; i++) {
      const off = (h * T + i) * T;
      for (let j = 0; j <= i; j++) kept += keep[off + j]!;
    }
    perHead[h] = kept / causal;
    total += kept;
  }
  return { overall: total / (causal * nHeads), perHead };
}

/**
 * Attention mass kept: per query row Σ_kept p ÷ Σ p (rows of a real pattern sum to 1; an all-zero
 * row counts as fully kept), then the mean over rows (per head) and over all head-rows (overall).
 *
 * @example
 * maskRecall(buildMask('window-sink', qk, 32), pattern).perHead; // one value per head
 */
export function maskRecall(masks: HeadMasks, pattern: LayerPattern): MaskMetric {
  const { T, nHeads, keep } = masks;
  if (pattern.T !== T || pattern.nHeads !== nHeads) {
    throw new Error(
      `mask is [${nHeads}, ${T}, ${T}] but the pattern is [${pattern.nHeads}, ${pattern.T}, ${pattern.T}]`,
    );
  }
  const perHead = new Float64Array(nHeads);
  let total = 0;
  for (let h = 0; h < nHeads; h++) {
    let sum = 0;
    for (let i = 0; i < T; i++) {
      const off = (h * T + i) * T;
      let all = 0;
      let kept = 0;
      for (let j = 0; j <= i; j++) {
        const p = pattern.probs[off + j]!;
        all += p;
        if (keep[off + j]) kept += p;
      }
      sum += all > 0 ? kept / all : 1;
    }
    perHead[h] = sum / T;
    total += sum;
  }
  return { overall: total / (T * nHeads), perHead };
}
