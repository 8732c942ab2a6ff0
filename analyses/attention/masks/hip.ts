/**
 * HiP attention: approximate top-k with a coarse-to-fine search over key groups (METHODS.md): split
 * the candidate keys into 2k contiguous groups, score each by one representative key, keep the best
 * k groups, split each in two, repeat until the groups are single keys. O(k·log(T/k)) scores per
 * query instead of O(T). The representative is the group's first key (a cheap, biased proxy: it is
 * exactly why HiP misses some of the true top-k, which `hipMissRate` measures).
 */
import type { HeadMasks, LayerQK } from '../types';
import { emptyMasks, kvHeadOf, rowBudgets, validateQK } from './common';
import { topkMask } from './topk';

/**
 * Pick k of the candidates 0..n−1 by the hierarchical search, scoring a key with `score(j)`.
 *
 * @example
 * hipSelect(100, 8, (j) => scores[j]); // 8 indices in [0, 100)
 */
export function hipSelect(n: number, k: number, score: (j: number) => number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, j) => j);
  if (k <= 0) return [];
  const g = Math.min(n, 2 * k);
  // Groups as [start, end) pairs.
  let groups: Array<[number, number]> = [];
  for (let t = 0; t < g; t++) groups.push([Math.floor((t * n) / g), Math.floor(((t + 1) * n) / g)]);
  for (;;) {
    const scored = groups.map((gr) => ({ gr, s: score(gr[0]) }));
    // Ties go to the later group (recency), like the exact top-k.
    scored.sort((a, b) => b.s - a.s || b.gr[0] - a.gr[0]);
    const kept = scored.slice(0, k).map((x) => x.gr);
    if (kept.every(([a, b]) => b - a === 1)) return kept.map(([a]) => a);
    groups = [];
    for (const [a, b] of kept) {
      if (b - a === 1) groups.push([a, b]);
      else {
        const mid = (a + b) >> 1;
        groups.push([a, mid], [mid, b]);
      }
    }
  }
}

/**
 * HiP mask: row i keeps itself plus n_i − 1 earlier keys chosen by `hipSelect` on q·k.
 *
 * @example
 * hipMask(input, 0.25);
 */
export function hipMask(input: LayerQK, budget: number): HeadMasks {
  validateQK(input);
  const { T, nHeads, nKvHeads, headDim: d, q, k } = input;
  const n = rowBudgets(T, budget, false, 'hip');
  const masks = emptyMasks(T, nHeads);
  for (let h = 0; h < nHeads; h++) {
    const kh = kvHeadOf(input, h);
    for (let i = 0; i < T; i++) {
      const qOff = (i * nHeads + h) * d;
      // Scores computed lazily: the point of HiP is touching few keys. The 1/√d scale is irrelevant
      // to the ranking, so it is left out.
      const score = (j: number): number => {
        const kOff = (j * nKvHeads + kh) * d;
        let s = 0;
        for (let c = 0; c < d; c++) s += q[qOff + c]! * k[kOff + c]!;
        return s;
      };
      const off = (h * T + i) * T;
      masks.keep[off + i] = 1;
      for (const j of hipSelect(i, n[i]! - 1, score)) masks.keep[off + j] = 1;
    }
  }
  return masks;
}

/**
 * Share of the exact top-k entries (per head and row, diagonal included, same budget rule) that the
 * HiP search does not select; 0 means HiP found the exact top-k everywhere.
 *
 * @example
 * hipMissRate(input, 0.1); // e.g. 0.12: 12 % of exact top-k entries missed
 */
export function hipMissRate(input: LayerQK, budget: number): number {
  const exact = topkMask(input, budget).keep;
  const hip = hipMask(input, budget).keep;
  let total = 0;
  let missed = 0;
  for (let t = 0; t < exact.length; t++) {
    if (exact[t]) {
      total++;
      if (!hip[t]) missed++;
    }
  }
  return total === 0 ? 0 : missed / total;
}
