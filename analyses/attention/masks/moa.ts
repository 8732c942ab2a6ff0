/**
 * MoA-style heterogeneous windows ("MoA: Mixture of Sparse Attention"): each head gets its own
 * sliding window, chosen from candidate sizes so that the heads together meet a global density and
 * keep as much attention mass as possible. MoA profiles each head's influence on the loss; we use
 * the attention mass a window keeps (recall) as that profile and allocate greedily by the best
 * recall gained per entry added. MoA's length scaling (α_h + β_h·N) is out of scope: one window
 * length N here. The density rule is global, not per row: target − T < kept ≤ target, where
 * target = Σ_heads Σ_rows max(1, round(B·(i + 1))) entries (with the default candidates 1..T).
 */
import type { HeadMasks, LayerPattern, LayerQK } from '../types';
import { attentionFromQK, rowBudgets, validateQK } from './common';

export interface MoaOptions {
  /** Candidate window sizes (keys per query incl. self). Default every size 1..T. */
  windows?: readonly number[];
  /** Attention to profile heads with; default the causal softmax of q·k/√d. */
  pattern?: LayerPattern;
}

export interface MoaPlan {
  /** Window per head (keys per query, self included). */
  windows: Int32Array;
  /** Kept causal entries over all heads, and the target they meet. */
  kept: number;
  target: number;
}

/** Causal entries a window of w keeps over T rows: Σ_i min(w, i + 1). */
function windowEntries(w: number, T: number): number {
  const m = Math.min(w, T);
  return (m * (m + 1)) / 2 + (T - m) * m;
}

/**
 * Greedy per-head window allocation under a global density B in (0, 1].
 *
 * @example
 * const plan = moaPlan(input, 0.2);
 * plan.windows; // e.g. Int32Array [3, 40, 7, …]: local heads get short windows
 */
export function moaPlan(input: LayerQK, budget: number, options: MoaOptions = {}): MoaPlan {
  validateQK(input);
  const { T, nHeads } = input;
  const pattern = options.pattern ?? attentionFromQK(input);
  if (pattern.T !== T || pattern.nHeads !== nHeads) {
    throw new Error(
      `pattern is [${pattern.nHeads}, ${pattern.T}, ${pattern.T}]; q/k are for ${nHeads} heads × ${T} tokens`,
    );
  }
  const target = nHeads * rowBudgets(T, budget, false, 'moa').reduce((a, b) => a + b, 0);
  const cands = [...new Set(options.windows ?? Array.from({ length: T }, (_, t) => t + 1))]
    .map((w) => Math.min(w, T))
    .sort((a, b) => a - b);
  if (cands.length === 0 || cands.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new Error(`windows must be whole numbers ≥ 1; got ${options.windows}`);
  }
  // mass[h][w] = attention mass (summed over rows) within the last w keys: prefix over offsets.
  const mass: Float64Array[] = [];
  for (let h = 0; h < nHeads; h++) {
    const byOffset = new Float64Array(T + 1);
    for (let i = 0; i < T; i++) {
      const off = (h * T + i) * T;
      for (let j = 0; j <= i; j++) byOffset[i - j + 1] = byOffset[i - j + 1]! + pattern.probs[off + j]!;
    }
    for (let w = 1; w <= T; w++) byOffset[w] = byOffset[w]! + byOffset[w - 1]!;
    mass.push(byOffset);
  }
  const at = new Int32Array(nHeads); // index into cands; everyone starts at the smallest
  let kept = nHeads * windowEntries(cands[0]!, T);
  for (;;) {
    let best = -1;
    let bestTo = -1;
    let bestRatio = -Infinity;
    for (let h = 0; h < nHeads; h++) {
      const w0 = cands[at[h]!]!;
      for (let t = at[h]! + 1; t < cands.length; t++) {
        const w = cands[t]!;
        const cost = windowEntries(w, T) - windowEntries(w0, T);
        if (cost <= 0 || kept + cost > target) continue;
        const ratio = (mass[h]![w]! - mass[h]![w0]!) / cost;
        if (ratio > bestRatio) [best, bestTo, bestRatio] = [h, t, ratio];
      }
    }
    if (best < 0) break;
    kept += windowEntries(cands[bestTo]!, T) - windowEntries(cands[at[best]!]!, T);
    at[best] = bestTo;
  }
  return { windows: Int32Array.from(at, (t) => cands[t]!), kept, target };
}

/**
 * MoA mask: each head's sliding window from `moaPlan`.
 *
 * @example
 * moaMask(input, 0.2, { pattern });
 */
export function moaMask(input: LayerQK, budget: number, options: MoaOptions = {}): HeadMasks {
  const { windows } = moaPlan(input, budget, options);
  const { T, nHeads } = input;
  const masks: HeadMasks = { T, nHeads, keep: new Uint8Array(nHeads * T * T) };
  for (let h = 0; h < nHeads; h++) {
    const w = windows[h]!;
    for (let i = 0; i < T; i++)
      masks.keep.fill(1, (h * T + i) * T + Math.max(0, i - w + 1), (h * T + i) * T + i + 1);
  }
  return masks;
}
