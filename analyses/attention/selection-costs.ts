/**
 * What choosing the kept entries costs, per query head and row, in FLOPs (analyses/README.md). A
 * sparse-attention kernel pays it on top of the products over the kept entries (`attentionFlops`);
 * leaving it out would make any family that scores every key to pick a few — exact top-k above
 * all — look as cheap as its kept entries. Conventions:
 *
 * - a score q·k over c channels is 2c FLOPs; an L2 norm or magnitude over d values is 2d;
 * - a top-n over m candidates is m·⌈log₂(n + 1)⌉ comparisons (a binary heap of n), one FLOP each,
 *   and free when n ≥ m (nothing to choose);
 * - work done once per cached token and KV head (key norms, Mustafar's element selection) is
 *   shared by the KV group's query heads: counted once per KV head, i.e. ÷ (nHeads / nKvHeads);
 * - scores of kept keys that the attention reuses are not counted twice (topk, block-permuted).
 *
 * Per family, for row i (m = i + 1 candidate keys, n kept), headDim d:
 *
 * - window-sink, moa: 0 (positions only; MoA's windows are fixed before the run);
 * - topk: 2d·(m − n) + top-n over m; block-permuted: the same full scores for its key importance
 *   plus a top over ⌈m/B⌉ blocks (both are oracles, masks/index.ts);
 * - hip: per round ≤ 2n representative scores and a top-n of them, 1 + ⌈log₂(m / 2n)⌉ rounds;
 * - block: pooled query-block · key-block scores, 2d per key block, and a top over ⌈m/B⌉ blocks,
 *   both shared by the B queries of a block (÷ B);
 * - chunk: 2d per chunk of c keys, then a top-n over m tokens;
 * - channel: 2r per key (r calibrated channels), then a top-n over m;
 * - kv-norm-evict: a key norm (2d) per token and a top-n over m per KV head;
 * - mustafar: per token and KV head, a top-e over d elements for K and for V (e kept).
 */
import type { MaskFamilyId } from './masks';

/**
 * Comparisons of a top-n among m candidates (a heap of n).
 *
 * @example
 * topSelectionFlops(100, 7); // 300
 */
export function topSelectionFlops(m: number, n: number): number {
  if (n >= m || n <= 0) return 0;
  return m * Math.ceil(Math.log2(n + 1));
}

/** What a family's selection cost depends on besides the row. */
export interface SelectionShape {
  headDim: number;
  /** nHeads / nKvHeads. */
  group: number;
  /** block, block-permuted: block size (default 16). */
  blockSize?: number;
  /** chunk: chunk size (default 16). */
  chunkSize?: number;
  /** channel: channels scored per key. */
  channels?: number;
  /** mustafar: elements kept per K and V vector. */
  kvElements?: number;
}

/**
 * Selection FLOPs of one query row i keeping n keys, for one query head.
 *
 * @example
 * rowSelectionFlops('topk', 99, 10, { headDim: 8, group: 1 }); // 2·8·90 + 100·4
 */
export function rowSelectionFlops(family: MaskFamilyId, i: number, n: number, s: SelectionShape): number {
  const m = i + 1;
  const d = s.headDim;
  const B = s.blockSize ?? 16;
  const blocks = Math.ceil(m / B);
  switch (family) {
    case 'window-sink':
    case 'moa':
      return 0;
    case 'topk':
      return 2 * d * (m - n) + topSelectionFlops(m, n);
    case 'block-permuted':
      return 2 * d * (m - n) + topSelectionFlops(blocks, Math.ceil(n / B));
    case 'hip': {
      if (n >= m) return 0;
      const rounds = 1 + Math.ceil(Math.log2(Math.max(1, m / (2 * n))));
      const reps = Math.min(m, 2 * n);
      return rounds * (2 * d * reps + topSelectionFlops(reps, n));
    }
    case 'block':
      return (2 * d * blocks + topSelectionFlops(blocks, Math.ceil(n / B))) / B;
    case 'chunk':
      return 2 * d * Math.ceil(m / (s.chunkSize ?? 16)) + topSelectionFlops(m, n);
    case 'channel':
      return 2 * (s.channels ?? d) * m + topSelectionFlops(m, n);
    case 'kv-norm-evict':
      // One new key's norm and one eviction choice per step, per KV head.
      return (2 * d + topSelectionFlops(m, n)) / s.group;
    case 'mustafar':
      // The new token's K and V vectors each keep their top e of d elements, per KV head.
      return (2 * topSelectionFlops(d, s.kvElements ?? d)) / s.group;
  }
}

/**
 * Selection FLOPs of one layer's mask for one window: the sum over query heads and rows, with n
 * each row's kept entries.
 *
 * @example
 * maskSelectionFlops('chunk', mask, { headDim: 64, group: 4, chunkSize: 16 });
 */
export function maskSelectionFlops(
  family: MaskFamilyId,
  mask: { T: number; nHeads: number; keep: Uint8Array },
  s: SelectionShape,
): number {
  const { T, nHeads, keep } = mask;
  let total = 0;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) {
      const o = (h * T + i) * T;
      let n = 0;
      for (let j = 0; j <= i; j++) n += keep[o + j]!;
      total += rowSelectionFlops(family, i, n, s);
    }
  }
  return total;
}
