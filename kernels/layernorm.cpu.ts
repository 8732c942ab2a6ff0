import type { Tensor } from './tensor';
import { cpu, f32, rowsCols } from './cpu-tensor';

/**
 * Shape checks of layernorm, shared with the WebGPU dispatcher so both reject alike: weight (and
 * bias, when given) hold one value per column. Returns [rows, cols].
 */
export function layernormDims(
  x: Tensor<'f32'>,
  weight: Tensor<'f32'>,
  bias: Tensor<'f32'> | undefined,
): [rows: number, cols: number] {
  const [rows, cols] = rowsCols(x.shape);
  if (weight.size !== cols)
    throw new Error(`layernorm: weight has ${weight.size} elements, rows have ${cols}`);
  if (bias && bias.size !== cols)
    throw new Error(`layernorm: bias has ${bias.size} elements, rows have ${cols}`);
  return [rows, cols];
}

/**
 * Reference LayerNorm over the last dim, as torch.nn.LayerNorm: (x − mean) / sqrt(var + eps)
 * · weight + bias with the biased variance. Two passes in float64 (the mean, then the mean square
 * deviation from it), so a large common offset costs no accuracy.
 */
export function layernormCpu(
  x: Tensor<'f32'>,
  weight: Tensor<'f32'>,
  bias: Tensor<'f32'> | undefined,
  eps: number,
): Tensor<'f32'> {
  const [rows, cols] = layernormDims(x, weight, bias);
  const X = cpu(x).data;
  const W = cpu(weight).data;
  const B = bias ? cpu(bias).data : undefined;
  const out = new Float32Array(X.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) s += X[o + c]!;
    const mean = s / cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) {
      const d = X[o + c]! - mean;
      ss += d * d;
    }
    const inv = 1 / Math.sqrt(ss / cols + eps);
    if (B) {
      for (let c = 0; c < cols; c++) out[o + c] = (X[o + c]! - mean) * inv * W[c]! + B[c]!;
    } else {
      for (let c = 0; c < cols; c++) out[o + c] = (X[o + c]! - mean) * inv * W[c]!;
    }
  }
  return f32(out, x.shape);
}
