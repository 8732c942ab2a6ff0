import type { Tensor } from './tensor';
import { cpu, f32, rowsCols } from './cpu-tensor';

/** Softmax of a row in place over [start, start + n): subtract the max for stability. */
export function softmaxRow(v: Float32Array, start: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, v[start + i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(v[start + i]! - max);
    v[start + i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) v[start + i]! /= sum;
}

/** Reference softmax over the last dim. */
export function softmaxCpu(x: Tensor<'f32'>): Tensor<'f32'> {
  const [rows, cols] = rowsCols(x.shape);
  const out = new Float32Array(cpu(x).data);
  for (let r = 0; r < rows; r++) softmaxRow(out, r * cols, cols);
  return f32(out, x.shape);
}
