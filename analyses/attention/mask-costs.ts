/**
 * What a sparse-attention mask saves, in two currencies (documented in analyses/README.md):
 *
 * - **Attention FLOPs**: 4·headDim per kept (query, key) entry per query head — 2·headDim for the
 *   score q·k and 2·headDim for adding p·v into the output — summed over masked layers, heads and
 *   every query row of the text, plus the cost of choosing the kept entries (selection-costs.ts).
 *   Mustafar's products run over its e kept K and V elements: 4·e per entry. The dense figure
 *   counts every causal entry at 4·headDim, with nothing to select.
 * - **KV-cache bytes**: float32 K and V rows that must stay resident, 4·headDim bytes per row per
 *   KV head, K and V counted separately, summed over layers, for the cache held after a window's
 *   last token, averaged over windows. Eviction families (window-sink, kv-norm-evict, moa) only need
 *   the rows some query head of the KV group still reads (kv-norm-evict: its separate K and V keep
 *   sets); selection families (topk, hip, block, block-permuted, chunk, channel) choose keys per
 *   query from the whole cache, so they keep all of it: their kv_bytes equal the dense figure.
 *   Mustafar keeps every row, each as a sparse vector: its e kept float32 values plus a bitmap of
 *   headDim bits (`sparseKvBytes`).
 */
import type { MaskFamilyId } from './masks';
import { kvNormEvictKeep } from './masks';
import type { HeadMasks, LayerQK } from './types';

/** Families that evict cache rows for good; every other family selects from the full cache. */
export const EVICTION_FAMILIES: ReadonlySet<MaskFamilyId> = new Set<MaskFamilyId>([
  'window-sink',
  'kv-norm-evict',
  'moa',
]);

/** Bytes of one float32 value in the KV cache. */
export const KV_BYTES_PER_VALUE = 4;

/**
 * FLOPs of the attention products for `entries` (query, key) pairs of one head each.
 *
 * @example
 * attentionFlops(10, 8); // 320
 */
export function attentionFlops(entries: number, headDim: number): number {
  return 4 * headDim * entries;
}

/** Resident cache rows of one layer after a window: K and V rows summed over KV heads. */
export interface ResidentRows {
  k: number;
  v: number;
}

/**
 * Rows a decoder must still hold after the window's last token for one layer.
 * Selection families and the dense model: every row (T per KV head). Eviction families: the keys
 * the last query row of any query head in the KV group keeps; kv-norm-evict uses `kvNormEvictKeep`,
 * whose V set is ranked on |v| (needs `v`).
 *
 * @example
 * residentRows('window-sink', qk, mask, 32).k; // ≤ 32 × nKvHeads
 */
export function residentRows(
  family: MaskFamilyId,
  qk: LayerQK,
  mask: HeadMasks,
  budget: number,
  v?: Float32Array,
): ResidentRows {
  const { T, nHeads, nKvHeads } = qk;
  if (!EVICTION_FAMILIES.has(family)) return { k: T * nKvHeads, v: T * nKvHeads };
  if (family === 'kv-norm-evict') {
    const sets = kvNormEvictKeep(qk, budget, { v });
    const count = (a: Uint8Array | null) => (a ? a.reduce((s, x) => s + x, 0) : T * nKvHeads);
    return { k: count(sets.k), v: count(sets.v) };
  }
  const group = nHeads / nKvHeads;
  let rows = 0;
  const seen = new Uint8Array(T);
  for (let g = 0; g < nKvHeads; g++) {
    seen.fill(0);
    for (let h = g * group; h < (g + 1) * group; h++) {
      const off = (h * T + T - 1) * T;
      for (let j = 0; j < T; j++) if (mask.keep[off + j]) seen[j] = 1;
    }
    rows += seen.reduce((s, x) => s + x, 0);
  }
  return { k: rows, v: rows };
}

/**
 * Bytes of K and V rows stored sparse (Mustafar's bitmap format): e float32 values and a
 * ⌈headDim / 8⌉-byte bitmap per row.
 *
 * @example
 * sparseKvBytes({ k: 10, v: 10 }, 64, 16); // 20 · (64 + 8) = 1440
 */
export function sparseKvBytes(rows: ResidentRows, headDim: number, kept: number): number {
  return (KV_BYTES_PER_VALUE * kept + Math.ceil(headDim / 8)) * (rows.k + rows.v);
}

/**
 * Bytes of K and V rows of one KV head width.
 *
 * @example
 * kvBytes({ k: 10, v: 10 }, 8); // 640
 */
export function kvBytes(rows: ResidentRows, headDim: number): number {
  return KV_BYTES_PER_VALUE * headDim * (rows.k + rows.v);
}
