/**
 * Arrow tables of a pruning sweep, with documented column schemas (snake_case; the table kind is
 * under the `sparsebook.table` schema metadata key).
 */
import { Field, Float64, Int32, Schema, Table, Utf8 } from 'apache-arrow';
import { TABLE_KIND_KEY, tableFromRows } from '../../runtime/tables';

/**
 * One row per sweep point (method × pattern × sparsity), dense first.
 *
 * - `method` (utf8): dense | magnitude | wanda | sparsegpt. `pattern` (utf8): dense | unstructured |
 *   N:M | channels | heads. `sparsity` (float64): the requested share of the pattern's unit removed
 *   (weights, channels or heads; 1 − N/M for N:M).
 * - `weight_sparsity` (float64): 1 − nonzeros ÷ total over every block linear.
 * - `loss` (float64, nats), `perplexity`, `loss_increase` (loss − dense loss), `agreement`: share of
 *   held-out positions whose argmax next token equals the dense model's.
 * - `nonzeros`, `total` (float64): block linear weights kept / all.
 * - `flops` (float64): 2 · nonzeros per token (block linears only). `flops_dense` = 2 · total.
 * - `bytes_dense`, `bytes_csr`, `bytes_nm` (float64): storage of the block linears as dense f32, CSR
 *   (f32 values, i32 column indices, i32 row pointers) and 2:4-compressed (kept values + 2-bit
 *   indices; NaN unless the point's mask is 2:4).
 * - `cliff` (int32): 1 on the last point of its (method, pattern) curve before loss rises sharply
 *   (`findCliff`), else 0.
 */
export const PRUNING_POINT_COLUMNS = [
  'method',
  'pattern',
  'sparsity',
  'weight_sparsity',
  'loss',
  'perplexity',
  'loss_increase',
  'agreement',
  'nonzeros',
  'total',
  'flops',
  'flops_dense',
  'bytes_dense',
  'bytes_csr',
  'bytes_nm',
  'cliff',
] as const;

/**
 * One row per (point, layer, matrix): `method`, `pattern` (utf8), `sparsity` (float64), `layer`
 * (int32), `matrix` (utf8: wq … w3), `nonzeros`, `total` (float64), `matrix_sparsity` (float64).
 */
export const PRUNING_LAYER_COLUMNS = [
  'method',
  'pattern',
  'sparsity',
  'layer',
  'matrix',
  'nonzeros',
  'total',
  'matrix_sparsity',
] as const;

const TEXT = new Set(['method', 'pattern', 'matrix']);
const INT = new Set(['layer', 'cliff']);
const schemaOf = (names: readonly string[], kind: string) =>
  new Schema(
    names.map(
      (n) => new Field(n, TEXT.has(n) ? new Utf8() : INT.has(n) ? new Int32() : new Float64(), false),
    ),
    new Map([[TABLE_KIND_KEY, kind]]),
  );

export const PRUNING_POINT_SCHEMA = schemaOf(PRUNING_POINT_COLUMNS, 'pruning-sweep');
export const PRUNING_LAYER_SCHEMA = schemaOf(PRUNING_LAYER_COLUMNS, 'pruning-sweep-layers');

export type PruningPointRow = Record<(typeof PRUNING_POINT_COLUMNS)[number], string | number>;
export type PruningLayerRow = Record<(typeof PRUNING_LAYER_COLUMNS)[number], string | number>;

export function pruningPointTable(rows: readonly object[]): Table {
  return tableFromRows(PRUNING_POINT_SCHEMA, rows);
}

export function pruningLayerTable(rows: readonly object[]): Table {
  return tableFromRows(PRUNING_LAYER_SCHEMA, rows);
}
