/**
 * Tensors as Arrow tables, so activations and logits cross the worker boundary (and sit in reports)
 * as IPC bytes like every other result. A tensor of shape [d0, …, dn−1] becomes a table with one
 * row per index over the leading dims and the last dim as a fixed-size list:
 *
 * - `row` (int32): flat index over the leading dimensions (0 … d0·…·dn−2 − 1).
 * - `values` (fixed_size_list<float32>[dn−1]): the row's values.
 *
 * Schema metadata: `sparsebook.table` = `tensor`, `sparsebook.shape` = the JSON shape, and
 * `sparsebook.name` = what the tensor is (e.g. `blocks.2.hook_resid_post`, `logits`).
 */
import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
} from 'apache-arrow';
import { TABLE_KIND_KEY } from './tables';

export const TENSOR_COLUMNS = { row: 'row', values: 'values' } as const;
export const TENSOR_SHAPE_KEY = 'sparsebook.shape';
export const TENSOR_NAME_KEY = 'sparsebook.name';

/** Build the table of a float32 tensor (row-major data). */
export function tensorTable(name: string, shape: readonly number[], data: Float32Array): Table {
  if (shape.length === 0) throw new Error(`tensorTable ${name}: a tensor needs at least one dimension`);
  const width = shape[shape.length - 1]!;
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new Error(`tensorTable ${name}: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  const rows = width === 0 ? 0 : size / width;
  const listType = new FixedSizeList(width, new Field('value', new Float32(), false));
  const schema = new Schema(
    [new Field(TENSOR_COLUMNS.row, new Int32(), false), new Field(TENSOR_COLUMNS.values, listType, false)],
    new Map([
      [TABLE_KIND_KEY, 'tensor'],
      [TENSOR_SHAPE_KEY, JSON.stringify(shape)],
      [TENSOR_NAME_KEY, name],
    ]),
  );
  const rowData = makeData({
    type: new Int32(),
    length: rows,
    data: Int32Array.from({ length: rows }, (_, i) => i),
  });
  const valueData = makeData({ type: new Float32(), length: size, data });
  const listData = makeData({ type: listType, length: rows, nullCount: 0, child: valueData });
  const struct = makeData({
    type: new Struct(schema.fields),
    length: rows,
    nullCount: 0,
    children: [rowData, listData],
  });
  return new Table(schema, new RecordBatch(schema, struct));
}

/** Read a tensor table back into its shape and a row-major Float32Array. */
export function readTensorTable(table: Table): { name: string; shape: number[]; data: Float32Array } {
  const meta = table.schema.metadata;
  if (meta.get(TABLE_KIND_KEY) !== 'tensor') {
    throw new Error(`not a tensor table (sparsebook.table = ${meta.get(TABLE_KIND_KEY) ?? 'missing'})`);
  }
  const shape = JSON.parse(meta.get(TENSOR_SHAPE_KEY) ?? 'null') as unknown;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`tensor table has an invalid shape: ${meta.get(TENSOR_SHAPE_KEY)}`);
  }
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  const out = new Float32Array(size);
  let offset = 0;
  // Each record batch holds a contiguous run of rows; copy their flat child buffers in order.
  for (const batch of table.batches) {
    const list = batch.getChildAt(1)!.data[0]!;
    const child = list.children[0]!;
    const width = (list.type as FixedSizeList).listSize;
    const values = (child.values as Float32Array).subarray(
      child.offset + list.offset * width,
      child.offset + list.offset * width + list.length * width,
    );
    out.set(values, offset);
    offset += values.length;
  }
  if (offset !== size) throw new Error(`tensor table holds ${offset} values, shape needs ${size}`);
  return { name: meta.get(TENSOR_NAME_KEY) ?? '', shape: shape as number[], data: out };
}
