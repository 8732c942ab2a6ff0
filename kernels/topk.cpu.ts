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
