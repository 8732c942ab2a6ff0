import type { FloatDType, Tensor } from './tensor';
import { cpu, f32, weightRows, type CpuTensor } from './cpu-tensor';
import { matmulShape } from './shapes';

/** Throws unless the bias holds one value per output column (shared with the WebGPU dispatcher). */
export function checkMatmulBias(bias: Tensor<'f32'> | undefined, n: number): void {
  if (bias && bias.size !== n) {
    throw new Error(`matmul: bias has ${bias.size} elements, expected one per output column (${n})`);
  }
}

/**
 * Reference matmul: a [M, K] (or [K, M] with transposeA) × b [K, N] (or b [N, K] with transposeB)
 * → [M, N], plus bias[j] on every row when a bias [N] is given. Each output is one
 * f64 sum over p = 0..K-1 in order (then + bias[j], still in f64, rounded once), so the blocking
 * below changes speed, not results. No product is skipped: 0 · ∞ gives NaN in both layouts, as on
 * the GPU.
 *
 * A 16-bit b (f16 / bf16 weights) is decoded as it is read: with transposeB, a slab of its rows at
 * a time into a small scratch buffer, so no float32 copy of the weight exists; the sums are the
 * same as over the float32 conversion (decoding is exact).
 */
export function matmulCpu(
  a: Tensor<'f32'>,
  b: Tensor<FloatDType>,
  transposeB = false,
  transposeA = false,
  bias?: Tensor<'f32'>,
): Tensor<'f32'> {
  const { m, k, n } = matmulShape(a.shape, b.shape, transposeB, transposeA);
  checkMatmulBias(bias, n);
  const A = transposeA ? transpose(cpu(a).data, k, m) : cpu(a).data;
  const biasData = bias ? cpu(bias).data : new Float32Array(n);
  const out = new Float32Array(m * n);
  const B = cpu(b);
  if (transposeB && B.dtype !== 'f32') {
    matmulHalfRows(A, B, biasData, out, m, k, n);
    return f32(out, [m, n]);
  }
  // One kernel for both layouts: it wants the rows of b as [N, K] (a weight matrix's layout).
  const bData = weightRows(B, 1, 0, B.size, new Float32Array(B.dtype === 'f32' ? 0 : B.size));
  const Bt = transposeB ? bData : transpose(bData, k, n);
  // Without a bias the epilogue adds +0, which changes no sum (they start at +0, so none is −0).
  matmulRows(A, Bt, biasData, out, m, k, n);
  return f32(out, [m, n]);
}

/** Values of b a 16-bit matmul decodes at once (a slab of its rows; 256 KiB of float32). */
const SLAB_VALUES = 1 << 16;

/**
 * out = A · Btᵀ + bias for a 16-bit Bt [N, K], slab by slab of its rows: each slab is decoded
 * into scratch and multiplied by `matmulRows` into a slab of columns, which is then copied into
 * place. Every output is the same ordered sum as in the float32 path.
 */
function matmulHalfRows(
  A: Float32Array,
  B: CpuTensor<FloatDType>,
  bias: Float32Array,
  out: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  const slab = Math.max(4, Math.floor(SLAB_VALUES / Math.max(k, 1) / 4) * 4);
  const scratch = new Float32Array(Math.min(slab, n) * k);
  const part = new Float32Array(m * Math.min(slab, n));
  for (let j0 = 0; j0 < n; j0 += slab) {
    const cols = Math.min(slab, n - j0);
    const rows = weightRows(B, k, j0, cols, scratch);
    const o = part.subarray(0, m * cols);
    matmulRows(A, rows, bias.subarray(j0, j0 + cols), o, m, k, cols);
    for (let i = 0; i < m; i++) out.set(o.subarray(i * cols, (i + 1) * cols), i * n + j0);
  }
}

/**
 * out [M, N] = A [M, K] · Btᵀ + bias, Bt [N, K]: every output is the dot product of two contiguous
 * rows, plus its column's bias.
 * Outputs are computed in blocks of 3 rows × 4 columns: each loaded value then feeds 3 or 4
 * products instead of 1, and the 12 independent sums overlap (a single running sum waits on the
 * latency of its own adds). 3 × 4 measured fastest: the 16 sums of 4 × 4 alone fill x64's 16 float
 * registers. Rows and columns past the last whole block use `dot`.
 */
function matmulRows(
  A: Float32Array,
  Bt: Float32Array,
  bias: Float32Array,
  out: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  const m3 = m - (m % 3);
  const n4 = n - (n % 4);
  for (let i = 0; i < m3; i += 3) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    // s<r><c> is out[i + r, j + c]: the grid of sums mirrors the block.
    // prettier-ignore
    for (let j = 0; j < n4; j += 4) {
      const b0 = j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = A[a0 + p]!, x1 = A[a1 + p]!, x2 = A[a2 + p]!;
        const w0 = Bt[b0 + p]!, w1 = Bt[b1 + p]!, w2 = Bt[b2 + p]!, w3 = Bt[b3 + p]!;
        s00 += x0 * w0; s01 += x0 * w1; s02 += x0 * w2; s03 += x0 * w3;
        s10 += x1 * w0; s11 += x1 * w1; s12 += x1 * w2; s13 += x1 * w3;
        s20 += x2 * w0; s21 += x2 * w1; s22 += x2 * w2; s23 += x2 * w3;
      }
      const o0 = i * n + j, o1 = o0 + n, o2 = o1 + n;
      const c0 = bias[j]!, c1 = bias[j + 1]!, c2 = bias[j + 2]!, c3 = bias[j + 3]!;
      out[o0] = s00 + c0; out[o0 + 1] = s01 + c1; out[o0 + 2] = s02 + c2; out[o0 + 3] = s03 + c3;
      out[o1] = s10 + c0; out[o1 + 1] = s11 + c1; out[o1 + 2] = s12 + c2; out[o1 + 3] = s13 + c3;
      out[o2] = s20 + c0; out[o2 + 1] = s21 + c1; out[o2 + 2] = s22 + c2; out[o2 + 3] = s23 + c3;
    }
  }
  // The edges: the last n % 4 columns of the blocked rows, then all columns of the last m % 3 rows.
  for (let i = 0; i < m; i++) {
    for (let j = i < m3 ? n4 : 0; j < n; j++) out[i * n + j] = dot(A, i * k, Bt, j * k, k) + bias[j]!;
  }
}

/** Σ_p x[xo + p] · y[yo + p] over p = 0..k-1, in f64. */
function dot(x: Float32Array, xo: number, y: Float32Array, yo: number, k: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += x[xo + p]! * y[yo + p]!;
  return s;
}

/** [rows, cols] → [cols, rows]. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c]!;
  }
  return t;
}
