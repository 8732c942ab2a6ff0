import type { Tensor } from './tensor';
import { CpuTensor, cpu, f32, rowsCols } from './cpu-tensor';

/** Reference row-wise top-k: values descending; ties go to the lower index. */
export function topkCpu(x: Tensor<'f32'>, k: number): { values: Tensor<'f32'>; indices: Tensor<'i32'> } {
  const [rows, cols] = rowsCols(x.shape);
  if (!Number.isInteger(k) || k < 1 || k > cols)
    throw new Error(`topk: k=${k} must be an integer in [1, ${cols}]`);
  const X = cpu(x).data;
  const values = new Float32Array(rows * k);
  const indices = new Int32Array(rows * k);
  const order = new Int32Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) order[c] = c;
    // Stable sort by value descending keeps lower indices first among equal values.
    const sorted = Array.from(order).sort((i, j) => X[o + j]! - X[o + i]! || i - j);
    for (let j = 0; j < k; j++) {
      indices[r * k + j] = sorted[j]!;
      values[r * k + j] = X[o + sorted[j]!]!;
    }
  }
  const outShape = [...x.shape.slice(0, -1), k];
  return { values: f32(values, outShape), indices: new CpuTensor<'i32'>(indices, outShape) };
}

/**
 * Write into `outIdx` the indices of the k largest `values[offset + j]` (j < len, and `allowed[j]`
 * when given), largest first; returns how many were found (< k only if fewer are allowed). Ties go
 * to the lower index, so the choice is deterministic.
 *
 * @example
 * const idx = new Int32Array(2);
 * topKIndices(Float32Array.of(1, 5, 3), 0, 3, 2, idx); // 2, idx = [1, 2]
 */
export function topKIndices(
  values: Float32Array,
  offset: number,
  len: number,
  k: number,
  outIdx: Int32Array,
  allowed?: ArrayLike<number>,
  scratch: Float64Array = new Float64Array(k),
): number {
  let filled = 0;
  for (let j = 0; j < len; j++) {
    if (allowed && !allowed[j]) continue;
    const v = values[offset + j]!;
    if (filled === k && !(v > scratch[k - 1]!)) continue;
    let pos = filled < k ? filled++ : k - 1;
    while (pos > 0 && scratch[pos - 1]! < v) {
      scratch[pos] = scratch[pos - 1]!;
      outIdx[pos] = outIdx[pos - 1]!;
      pos--;
    }
    scratch[pos] = v;
    outIdx[pos] = j;
  }
  return filled;
}
