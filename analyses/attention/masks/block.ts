/**
 * Block-sparse attention: query blocks × key blocks of size B, each scored by the pooled (mean)
 * query · pooled key; per query block the diagonal block comes first, then the others by score.
 * To compare families at equal density each row then takes keys block by block in that order until
 * it holds its n_i keys (common.ts), so at most one block per row is kept partially; a kernel would
 * round to whole blocks, which changes density by < B entries per row.
 */
import type { HeadMasks, LayerQK } from '../types';
import { emptyMasks, kvHeadOf, rowBudgets, validateQK } from './common';

export interface BlockOptions {
  /** Block size B (queries and keys). Default 16. */
  blockSize?: number;
}

/** A candidate key block: its token positions in the order a row takes them. */
export interface KeyBlock {
  keys: Int32Array;
}

/** Mean of the rows `rows` of head slot `slot` in an [T, nSlots·d] matrix, into out. */
function pooled(
  x: Float32Array,
  nSlots: number,
  slot: number,
  d: number,
  rows: ArrayLike<number>,
  out: Float64Array,
) {
  out.fill(0);
  for (let r = 0; r < rows.length; r++) {
    const off = (rows[r]! * nSlots + slot) * d;
    for (let c = 0; c < d; c++) out[c] = out[c]! + x[off + c]!;
  }
  for (let c = 0; c < d; c++) out[c] = out[c]! / Math.max(1, rows.length);
}

/**
 * Shared engine of `block` and `block-permuted`: `candidates(h, q0, q1)` lists the key blocks a
 * query block [q0, q1] may use, the first one being its diagonal block (always kept first).
 *
 * @example
 * blockSelect(input, 0.3, 16, (h, q0, q1) => plainBlocks(q0, q1, 16));
 */
export function blockSelect(
  input: LayerQK,
  budget: number,
  B: number,
  candidates: (h: number, q0: number, q1: number) => KeyBlock[],
  family = 'block',
): HeadMasks {
  validateQK(input);
  if (!Number.isInteger(B) || B < 1) throw new Error(`blockSize must be a whole number ≥ 1; got ${B}`);
  const { T, nHeads, nKvHeads, headDim: d } = input;
  const n = rowBudgets(T, budget, false, family);
  const masks = emptyMasks(T, nHeads);
  const qm = new Float64Array(d);
  const km = new Float64Array(d);
  for (let h = 0; h < nHeads; h++) {
    const kh = kvHeadOf(input, h);
    for (let q0 = 0; q0 < T; q0 += B) {
      const q1 = Math.min(T, q0 + B) - 1;
      const qRows = Array.from({ length: q1 - q0 + 1 }, (_, t) => q0 + t);
      pooled(input.q, nHeads, h, d, qRows, qm);
      const blocks = candidates(h, q0, q1);
      const scores = blocks.map((b, t) => {
        if (t === 0) return Infinity;
        // Pool only keys the block can see, so no future key steers the choice.
        pooled(
          input.k,
          nKvHeads,
          kh,
          d,
          b.keys.filter((j) => j <= q1),
          km,
        );
        let s = 0;
        for (let c = 0; c < d; c++) s += qm[c]! * km[c]!;
        return s;
      });
      const order = blocks.map((_, t) => t).sort((a, b) => scores[b]! - scores[a]! || a - b);
      for (let i = q0; i <= q1; i++) {
        const off = (h * T + i) * T;
        masks.keep[off + i] = 1;
        let count = 1;
        for (let t = 0; t < order.length && count < n[i]!; t++) {
          for (const j of blocks[order[t]!]!.keys) {
            if (count >= n[i]!) break;
            if (j < i && !masks.keep[off + j]) {
              masks.keep[off + j] = 1;
              count++;
            }
          }
        }
      }
    }
  }
  return masks;
}

/**
 * Aligned key blocks [bB, bB + B) that end at or before q1, diagonal block first; within a block the
 * most recent keys come first (the neutral choice for the one partially kept block).
 *
 * @example
 * plainBlocks(0, 32, 47, 16); // blocks starting at 32, 16, 0
 */
export function plainBlocks(from: number, q0: number, q1: number, B: number): KeyBlock[] {
  const out: KeyBlock[] = [];
  for (let b0 = Math.floor(q0 / B) * B; b0 >= from; b0 -= B) {
    const end = Math.min(b0 + B, q1 + 1);
    out.push({ keys: Int32Array.from({ length: end - b0 }, (_, t) => end - 1 - t) });
  }
  return out;
}

/**
 * Block-sparse mask with aligned blocks of size B and mean-pooled block scores.
 *
 * @example
 * blockMask(input, 0.25, { blockSize: 16 });
 */
export function blockMask(input: LayerQK, budget: number, options: BlockOptions = {}): HeadMasks {
  const B = options.blockSize ?? 16;
  return blockSelect(input, budget, B, (_h, q0, q1) => plainBlocks(0, q0, q1, B), 'block');
}
