import type { Tensor } from './tensor';
import { cpu, f32, rowsCols } from './cpu-tensor';

/** Reference rotary embedding, llama2.c layout (adjacent pairs rotate within each head). */
export function ropeCpu(x: Tensor<'f32'>, headDim: number, pos0 = 0, theta = 10000): Tensor<'f32'> {
  const [rows, cols] = rowsCols(x.shape);
  if (headDim <= 0 || headDim % 2 !== 0 || cols % headDim !== 0) {
    throw new Error(`rope: headDim ${headDim} must be even and divide the row width ${cols}`);
  }
  if (!Number.isInteger(pos0) || pos0 < 0) {
    throw new Error(`rope: pos0 must be a non-negative integer, got ${pos0}`);
  }
  const X = cpu(x).data;
  const out = new Float32Array(X.length);
  for (let r = 0; r < rows; r++) {
    const pos = pos0 + r;
    for (let c = 0; c < cols; c += 2) {
      const freq = 1 / Math.pow(theta, (c % headDim) / headDim);
      const angle = pos * freq;
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const i = r * cols + c;
      const v0 = X[i]!;
      const v1 = X[i + 1]!;
      out[i] = v0 * cos - v1 * sin;
      out[i + 1] = v0 * sin + v1 * cos;
    }
  }
  return f32(out, x.shape);
}
