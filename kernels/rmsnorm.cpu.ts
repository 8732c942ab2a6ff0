import type { Tensor } from './tensor';
import { cpu, f32, rowsCols } from './cpu-tensor';

/** Reference RMSNorm over the last dim: x / sqrt(mean(x²) + eps) * weight. */
export function rmsnormCpu(x: Tensor<'f32'>, weight: Tensor<'f32'>, eps: number): Tensor<'f32'> {
  const [rows, cols] = rowsCols(x.shape);
  if (weight.size !== cols) throw new Error(`rmsnorm: weight has ${weight.size} elements, rows have ${cols}`);
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
