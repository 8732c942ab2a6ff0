import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { matmulShape } from './shapes';

/** Reference matmul: a [M, K] × b [K, N] (or b [N, K] with transposeB) → [M, N]. Accumulates in f64. */
export function matmulCpu(a: Tensor<'f32'>, b: Tensor<'f32'>, transposeB = false): Tensor<'f32'> {
  const { m, k, n } = matmulShape(a.shape, b.shape, transposeB);
  const A = cpu(a).data;
  const B = cpu(b).data;
  const out = new Float32Array(m * n);
  if (transposeB) {
    for (let i = 0; i < m; i++) {
      const ai = i * k;
      for (let j = 0; j < n; j++) {
        const bj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += A[ai + p]! * B[bj + p]!;
        out[i * n + j] = s;
      }
    }
  } else {
    const row = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const a_ip = A[i * k + p]!;
        if (a_ip === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) row[j]! += a_ip * B[bp + j]!;
      }
      for (let j = 0; j < n; j++) out[i * n + j] = row[j]!;
    }
  }
  return f32(out, [m, n]);
}
