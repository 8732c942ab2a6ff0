/**
 * Arrow tables of a mask sweep (accuracy–efficiency curves), with documented column schemas.
 * Column names are snake_case; each schema names its kind under the `sparsebook.table` key.
 */
import { Field, Float64, Int32, Schema, Table, Utf8 } from 'apache-arrow';
import { TABLE_KIND_KEY, tableFromRows } from '../../runtime/tables';

export { tableRows } from '../../runtime/tables';

/**
 * One row per (family, budget) point, in sweep order.
 *
 * - `family` (utf8): mask family id. `budget` (float64): share in (0, 1] or keys per query (> 1).
 * - `density` (float64): kept ÷ causal entries over every masked layer, head and query row.
 * - `recall` (float64): mean over query rows of the dense attention mass kept.
 * - `loss` (float64): mean cross-entropy (nats) with the mask applied in every layer.
 * - `loss_increase` (float64): loss − dense loss on the same text.
 * - `attn_flops` (float64): 4·headDim per kept entry per head (4·e for Mustafar's e kept K and V
 *   elements) plus `selection_flops`; `attn_flops_dense`: 4·headDim per causal entry per head.
 * - `kv_bytes`, `kv_bytes_dense` (float64): resident K + V bytes after a window (mask-costs.ts).
 * - `selection_flops` (float64): what choosing the kept entries costs (selection-costs.ts).
 * - `oracle` (float64, 1 or 0): the family needs the full scores or the window's own attention
 *   (masks/index.ts), so the point is a reference, not a deployable configuration.
 */
export const SWEEP_COLUMNS = [
  'family',
  'budget',
  'density',
  'recall',
  'loss',
  'loss_increase',
  'attn_flops',
  'attn_flops_dense',
  'kv_bytes',
  'kv_bytes_dense',
  'selection_flops',
  'oracle',
] as const;

/**
 * One row per (family, budget, layer, head).
 *
 * - `family` (utf8), `budget` (float64), `layer` (int32), `head` (int32).
 * - `density`, `recall` (float64): as in the sweep table, for this head only.
 * - `window` (int32): the head's window in keys (self included) for moa — the last query row's
 *   kept keys, rounded mean over windows; 0 for every other family.
 */
export const SWEEP_HEAD_COLUMNS = [
  'family',
  'budget',
  'layer',
  'head',
  'density',
  'recall',
  'window',
] as const;

const meta = (kind: string) => new Map([[TABLE_KIND_KEY, kind]]);

export const SWEEP_SCHEMA = new Schema(
  SWEEP_COLUMNS.map((n) => new Field(n, n === 'family' ? new Utf8() : new Float64(), false)),
  meta('mask-sweep'),
);

export const SWEEP_HEAD_SCHEMA = new Schema(
  SWEEP_HEAD_COLUMNS.map(
    (n) =>
      new Field(
        n,
        n === 'family' ? new Utf8() : ['layer', 'head', 'window'].includes(n) ? new Int32() : new Float64(),
        false,
      ),
  ),
  meta('mask-sweep-heads'),
);

/** One point of a sweep as the analysis produces it. */
export interface SweepRow {
  family: string;
  budget: number;
  density: number;
  recall: number;
  loss: number;
  loss_increase: number;
  attn_flops: number;
  attn_flops_dense: number;
  kv_bytes: number;
  kv_bytes_dense: number;
  selection_flops: number;
  /** 1 for an oracle family's point, else 0. */
  oracle: number;
}

/** One head of one point. */
export interface SweepHeadRow {
  family: string;
  budget: number;
  layer: number;
  head: number;
  density: number;
  recall: number;
  window: number;
}

/**
 * @example
 * sweepTable(points).getChild('loss')?.toArray(); // Float64Array, one per point
 */
export function sweepTable(rows: readonly SweepRow[]): Table {
  return tableFromRows(SWEEP_SCHEMA, rows);
}

/**
 * @example
 * sweepHeadTable(heads).numRows; // points × layers × heads
 */
export function sweepHeadTable(rows: readonly SweepHeadRow[]): Table {
  return tableFromRows(SWEEP_HEAD_SCHEMA, rows);
}
