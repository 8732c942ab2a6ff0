import type { FloatDType, Tensor } from './tensor';
import { cpu, f32, weightRows } from './cpu-tensor';

/**
 * Reference embedding gather: table [V, D] (f32, or 16-bit decoded row by row), ids [T] → [T, D].
 * With `rowOffset` the table is rows rowOffset..rowOffset + V − 1 of a split one: other ids give
 * a zero row.
 */
export function embeddingCpu(
  table: Tensor<FloatDType>,
  ids: Tensor<'i32'>,
  opts: { rowOffset?: number } = {},
): Tensor<'f32'> {
  if (table.shape.length !== 2)
    throw new Error(`embedding: table must be [V, D], got [${table.shape.join(', ')}]`);
  const [v, d] = table.shape as [number, number];
  const offset = opts.rowOffset;
  if (offset !== undefined && (!Number.isInteger(offset) || offset < 0))
    throw new Error(`embedding: rowOffset ${offset} must be a non-negative integer`);
  const T = cpu(table);
  const I = cpu(ids).data;
  const out = new Float32Array(I.length * d);
  for (let t = 0; t < I.length; t++) {
    const id = I[t]! - (offset ?? 0);
    if (id < 0 || id >= v) {
      if (offset !== undefined) continue; // another chunk's row: zeros
      throw new Error(`embedding: token id ${id} at position ${t} is outside the vocabulary [0, ${v})`);
    }
    // A 16-bit row decodes straight into its place in the output.
    const row = weightRows(T, d, id, 1, out.subarray(t * d, (t + 1) * d));
    if (T.dtype === 'f32') out.set(row, t * d);
  }
  return f32(out, [I.length, d]);
}
