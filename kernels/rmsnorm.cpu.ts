import type { Tensor } from './tensor';
import { cpu, f32, rowsCols } from './cpu-tensor';

/**
 * Shape checks of rmsnorm, shared with the WebGPU dispatcher so both reject alike. Returns the
 * normalised runs as a matrix [runs, width]: the rows, or with groupSize every run of groupSize
 * consecutive values of a row (weight then has groupSize elements).
 */
export function rmsnormDims(
  x: Tensor<'f32'>,
  weight: Tensor<'f32'>,
  groupSize?: number,
): [runs: number, width: number] {
  const [rows, cols] = rowsCols(x.shape);
  if (groupSize === undefined) {
    if (weight.size !== cols)
      throw new Error(`rmsnorm: weight has ${weight.size} elements, rows have ${cols}`);
    return [rows, cols];
  }
  if (!Number.isInteger(groupSize) || groupSize <= 0 || cols % groupSize !== 0) {
    throw new Error(
      `rmsnorm: groupSize ${groupSize} must be a positive integer dividing the row width ${cols}`,
    );
  }
  if (weight.size !== groupSize) {
    throw new Error(`rmsnorm: weight has ${weight.size} elements, groups have ${groupSize}`);
  }
  return [(rows * cols) / groupSize, groupSize];
}

/**
 * Reference RMSNorm: x / sqrt(mean(x²) + eps) * weight, over the last dim or, with groupSize, over
 * each run of groupSize consecutive values (per-head qk-norm: x [T, nHeads·hd], groupSize hd).
 */
export function rmsnormCpu(
  x: Tensor<'f32'>,
  weight: Tensor<'f32'>,
  eps: number,
  opts?: { groupSize?: number },
): Tensor<'f32'> {
  const [rows, cols] = rmsnormDims(x, weight, opts?.groupSize);
  const X = cpu(x).data;
  const W = cpu(weight).data;
  const out = new Float32Array(X.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += X[o + c]! * X[o + c]!;
    const inv = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) out[o + c] = X[o + c]! * inv * W[c]!;
  }
  return f32(out, x.shape);
}
