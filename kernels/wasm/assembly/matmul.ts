// AssemblyScript (compiled by scripts/wasm-build.mjs, not by tsc): the CPU backend's hot matmul
// kernel in WebAssembly SIMD (f32x4). Memory is imported (shared with the worker threads when
// cross-origin isolated or in Node); the host (kernels/wasm/wasm-kernels.ts) owns every byte of it:
// this module keeps no data segment, no globals and no allocator, so instantiating it again in a
// worker changes nothing in the memory.
//
// Layouts (f32, bytes little-endian):
//   A  [m, k] row-major, row stride k.
//   Bp B packed in panels of NR = 8 columns: panel q holds columns 8q..8q+7 as [k][8] (zero past n),
//      at Bp + q·k·32 bytes (f32), or as 16-bit values (bf16 or f16 bits) at Bp + q·k·16 bytes: a
//      16-bit model's weights stay 16-bit in this memory too, and each kc-slice of a panel is
//      widened into a per-thread scratch of kc·32 bytes once, then read by every row block.
//   C  [m, ldc] row-major (ldc a multiple of 8: the padded n).
//   bias [ldc] or 0 (none).

import { madd } from './simd';

/** Rows × columns of the register block: 4 × 8 = 8 f32x4 accumulators. */
const MR = 4;
const NR = 8;

/**
 * C[:, 8·q0 .. 8·q1) = A · Bp[q0..q1) + bias, blocked by kc values of k: a kc-slice of one panel
 * (kc · 32 bytes) stays in L1 while every row block of A walks over it. `format`: B_F32, B_BF16,
 * B_F16 or B_F16_FINITE panels; 16-bit slices are widened into `wide` (kc · 32 bytes, this
 * thread's own), or in registers when m is less than a row block.
 */
/** Formats of packed b: f32, or 16-bit bf16 / f16 bits widened per kc-slice. */
const B_F32 = 0;
const B_BF16 = 1;
const B_F16 = 2;
/** f16 panels with no ∞ or NaN (the packer checked): widened without the all-ones exponent fix. */
const B_F16_FINITE = 3;

export function gemmPanels(
  a: usize,
  m: i32,
  k: i32,
  bp: usize,
  c: usize,
  ldc: i32,
  bias: usize,
  q0: i32,
  q1: i32,
  kc: i32,
  format: i32,
  wide: usize,
): void {
  const lda = (<usize>k) << 2;
  const ldcb = (<usize>ldc) << 2;
  for (let kb = 0; kb < k; kb += kc) {
    const kl = min(kc, k - kb);
    const first = kb == 0;
    for (let q = q0; q < q1; q++) {
      const cq = c + ((<usize>q) << 5);
      const bq0 = bias ? bias + ((<usize>q) << 5) : 0;
      let bq: usize;
      if (format == B_F32) bq = bp + ((<usize>q * <usize>k + <usize>kb) << 5);
      else {
        const src = bp + ((<usize>q * <usize>k + <usize>kb) << 4);
        if (m < MR) {
          // Fewer rows than a block (decoding a token): each value is used m times, so widen it
          // in registers as it is read rather than through the scratch.
          for (let i = 0; i < m; i++) {
            const ai = a + <usize>i * lda + ((<usize>kb) << 2);
            const ci = cq + <usize>i * ldcb;
            if (format == B_BF16) row1Bf16(ai, src, kl, ci, first, bq0);
            else if (format == B_F16) row1F16(ai, src, kl, ci, first, bq0);
            else row1F16Finite(ai, src, kl, ci, first, bq0);
          }
          continue;
        }
        if (format == B_BF16) widenBf16(src, kl, wide);
        else if (format == B_F16) widenF16(src, kl, wide);
        else widenF16Finite(src, kl, wide);
        bq = wide;
      }
      let i = 0;
      for (; i + MR <= m; i += MR) {
        block4(a + <usize>i * lda + ((<usize>kb) << 2), lda, bq, kl, cq + <usize>i * ldcb, ldcb, first, bq0);
      }
      for (; i < m; i++) {
        rowTimesPanel(a + <usize>i * lda + ((<usize>kb) << 2), bq, kl, cq + <usize>i * ldcb, first, bq0, B_F32);
      }
    }
  }
}

// Each 16-bit format gets its own copy of the loops below (the format is a constant in each).

/** kl rows of 8 bf16 values at src → kl rows of 8 f32 at dst. */
function widenBf16(src: usize, kl: i32, dst: usize): void {
  widenRows(src, kl, dst, B_BF16);
}

/** kl rows of 8 f16 values at src → kl rows of 8 f32 at dst. */
function widenF16(src: usize, kl: i32, dst: usize): void {
  widenRows(src, kl, dst, B_F16);
}

/** widenF16 for panels without ∞ or NaN. */
function widenF16Finite(src: usize, kl: i32, dst: usize): void {
  widenRows(src, kl, dst, B_F16_FINITE);
}

// @ts-ignore: decorator
@inline
function widenRows(src: usize, kl: i32, dst: usize, format: i32): void {
  for (let p: usize = 0, e = <usize>kl; p < e; p++) {
    const h = v128.load(src + (p << 4));
    v128.store(dst + (p << 5), widen(h, false, format));
    v128.store(dst + (p << 5), widen(h, true, format), 16);
  }
}

/** One row of a times a kc-slice of a bf16 panel, widened in registers. */
function row1Bf16(a: usize, b: usize, kl: i32, c: usize, first: bool, bias: usize): void {
  rowTimesPanel(a, b, kl, c, first, bias, B_BF16);
}

/** One row of a times a kc-slice of an f16 panel, widened in registers. */
function row1F16(a: usize, b: usize, kl: i32, c: usize, first: bool, bias: usize): void {
  rowTimesPanel(a, b, kl, c, first, bias, B_F16);
}

/** row1F16 for panels without ∞ or NaN. */
function row1F16Finite(a: usize, b: usize, kl: i32, c: usize, first: bool, bias: usize): void {
  rowTimesPanel(a, b, kl, c, first, bias, B_F16_FINITE);
}

/**
 * Lanes 0–3 (`high` false) or 4–7 of eight 16-bit values, as f32. bf16 is f32's upper half. f16
 * (exact: f16 ⊂ f32): sign-extended and shifted left 13, the sign lands on f32's sign bit and the
 * exponent and mantissa on theirs; read as a float that is 2^112 too small (the biases differ by
 * 127 − 15), so one multiply rebiases normals and scales subnormals exactly, keeping the sign.
 * An all-ones exponent (∞, NaN) then gets f32's all-ones exponent, mantissa kept; B_F16_FINITE
 * panels have none and skip that.
 */
// @ts-ignore: decorator
@inline
function widen(h: v128, high: bool, format: i32): v128 {
  if (format == B_BF16) {
    return i32x4.shl(high ? i32x4.extend_high_i16x8_u(h) : i32x4.extend_low_i16x8_u(h), 16);
  }
  const x = high ? i32x4.extend_high_i16x8_s(h) : i32x4.extend_low_i16x8_s(h);
  const bits = v128.and(i32x4.shl(x, 13), i32x4.splat(0x8fffe000));
  const f = f32x4.mul(bits, f32x4.splat(5.192296858534828e33)); // 2^112
  if (format == B_F16_FINITE) return f;
  const exponent = v128.and(x, i32x4.splat(0x7c00));
  const special = i32x4.eq(exponent, i32x4.splat(0x7c00));
  return v128.or(f, v128.and(special, i32x4.splat(0x7f800000)));
}

/**
 * Where a sum of four C values starts: the first k-block starts from the bias (or 0), a later
 * one from what the earlier blocks left in C. `at`: byte offset of the four in the row and bias.
 */
// @ts-ignore: decorator
@inline
function startSum(first: bool, bias: usize, c: usize, at: usize): v128 {
  if (!first) return v128.load(c + at);
  return bias ? v128.load(bias + at) : f32x4.splat(0);
}

// @ts-ignore: decorator
@inline
function block4(a: usize, lda: usize, b: usize, kl: i32, c: usize, ldc: usize, first: bool, bias: usize): void {
  let c00 = startSum(first, bias, c, 0);
  let c01 = startSum(first, bias, c, 16);
  let c10 = startSum(first, bias, c + ldc, 0);
  let c11 = startSum(first, bias, c + ldc, 16);
  let c20 = startSum(first, bias, c + 2 * ldc, 0);
  let c21 = startSum(first, bias, c + 2 * ldc, 16);
  let c30 = startSum(first, bias, c + 3 * ldc, 0);
  let c31 = startSum(first, bias, c + 3 * ldc, 16);
  const a1 = a + lda;
  const a2 = a1 + lda;
  const a3 = a2 + lda;
  for (let p: usize = 0, e: usize = (<usize>kl) << 2; p < e; p += 4) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a + p);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(a1 + p);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(a2 + p);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(a3 + p);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    b += 32;
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + ldc, c10);
  v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20);
  v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30);
  v128.store(c + 3 * ldc, c31, 16);
}

/**
 * One row of a times a kc-slice of a panel (8 columns): C row = (first ? bias or 0 : C row) +
 * a · b. `format` is a constant at each call site, so each format gets its own loop.
 */
// @ts-ignore: decorator
@inline
function rowTimesPanel(a: usize, b: usize, kl: i32, c: usize, first: bool, bias: usize, format: i32): void {
  let c0 = startSum(first, bias, c, 0);
  let c1 = startSum(first, bias, c, 16);
  // Two interleaved sums per half: one chain of adds would wait on its own latency.
  let d0 = f32x4.splat(0);
  let d1 = f32x4.splat(0);
  const stride: usize = format == B_F32 ? 32 : 16;
  let p: usize = 0;
  const e: usize = (<usize>kl) << 2;
  for (; p + 4 < e; p += 8) {
    const x = v128.load32_splat(a + p);
    const y = v128.load32_splat(a + p + 4);
    c0 = madd(x, panelLanes(b, false, format), c0);
    c1 = madd(x, panelLanes(b, true, format), c1);
    d0 = madd(y, panelLanes(b + stride, false, format), d0);
    d1 = madd(y, panelLanes(b + stride, true, format), d1);
    b += 2 * stride;
  }
  if (p < e) {
    const x = v128.load32_splat(a + p);
    c0 = madd(x, panelLanes(b, false, format), c0);
    c1 = madd(x, panelLanes(b, true, format), c1);
  }
  v128.store(c, f32x4.add(c0, d0));
  v128.store(c, f32x4.add(c1, d1), 16);
}

/** Columns 0–3 (`high` false) or 4–7 of the panel row at b, as f32 (16-bit rows widened). */
// @ts-ignore: decorator
@inline
function panelLanes(b: usize, high: bool, format: i32): v128 {
  if (format == B_F32) return high ? v128.load(b, 16) : v128.load(b);
  return widen(v128.load(b), high, format);
}

/**
 * The peak of this machine for WebAssembly SIMD: n iterations of 12 independent f32x4
 * multiply-add chains, enough to cover the latency on every port; `fused`: each a relaxed-SIMD
 * fused multiply-add (in the relaxed build), else a multiply and an add. Returns a value that
 * depends on every chain, so nothing is optimised away. Flops = n · 12 · 8.
 */
export function peakLoop(n: i32, s: f32, fused: i32): f32 {
  return fused ? peakFused(n, s) : peakMulAdd(n, s);
}

// @ts-ignore: decorator
@inline
function peakBody(n: i32, s: f32, fused: bool): f32 {
  const m = f32x4.splat(0.999);
  const d = f32x4.splat(s);
  let x0 = f32x4.splat(1.0);
  let x1 = f32x4.splat(1.1);
  let x2 = f32x4.splat(1.2);
  let x3 = f32x4.splat(1.3);
  let x4 = f32x4.splat(1.4);
  let x5 = f32x4.splat(1.5);
  let x6 = f32x4.splat(1.6);
  let x7 = f32x4.splat(1.7);
  let x8 = f32x4.splat(1.8);
  let x9 = f32x4.splat(1.9);
  let x10 = f32x4.splat(2.0);
  let x11 = f32x4.splat(2.1);
  for (let i = 0; i < n; i++) {
    x0 = fused ? madd(x0, m, d) : f32x4.add(f32x4.mul(x0, m), d);
    x1 = fused ? madd(x1, m, d) : f32x4.add(f32x4.mul(x1, m), d);
    x2 = fused ? madd(x2, m, d) : f32x4.add(f32x4.mul(x2, m), d);
    x3 = fused ? madd(x3, m, d) : f32x4.add(f32x4.mul(x3, m), d);
    x4 = fused ? madd(x4, m, d) : f32x4.add(f32x4.mul(x4, m), d);
    x5 = fused ? madd(x5, m, d) : f32x4.add(f32x4.mul(x5, m), d);
    x6 = fused ? madd(x6, m, d) : f32x4.add(f32x4.mul(x6, m), d);
    x7 = fused ? madd(x7, m, d) : f32x4.add(f32x4.mul(x7, m), d);
    x8 = fused ? madd(x8, m, d) : f32x4.add(f32x4.mul(x8, m), d);
    x9 = fused ? madd(x9, m, d) : f32x4.add(f32x4.mul(x9, m), d);
    x10 = fused ? madd(x10, m, d) : f32x4.add(f32x4.mul(x10, m), d);
    x11 = fused ? madd(x11, m, d) : f32x4.add(f32x4.mul(x11, m), d);
  }
  const t = f32x4.add(
    f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)),
    f32x4.add(f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7)), f32x4.add(f32x4.add(x8, x9), f32x4.add(x10, x11))),
  );
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}

function peakFused(n: i32, s: f32): f32 {
  return peakBody(n, s, true);
}

function peakMulAdd(n: i32, s: f32): f32 {
  return peakBody(n, s, false);
}
