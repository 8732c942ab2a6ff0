import { madd } from './simd';

// AssemblyScript (compiled by scripts/wasm-build.mjs): causal grouped-query attention, the plain
// path of kernels/attention.cpu.ts (no probabilities, scores, statistics or probe returned), with
// Gemma 2's soft-cap (cap · tanh(s / cap), cap > 0), in f32x4 SIMD. Same memory rules as matmul.ts: the host owns every byte.
//
//   q [t, qDim], k and v [keys, kvDim], out [t, qDim] (f32, row-major); qDim = nHeads·headDim,
//   kvDim = nKvHeads·headDim, headDim a multiple of 4, keys = pos0 + t.
//   Query row i sits at position pos0 + i and attends keys lo..pos0 + i, lo = max(0, p − window + 1)
//   (window 0: no window). Heads h0..h1 − 1 are computed (a thread's share).
//   scratch (per thread): a score row of keysPad floats, then kᵀ of one kv head [headDim][keysPad],
//   keysPad = a multiple of 16 ≥ keys + 16.
//
// The scores of a row take sixteen keys at a time from kᵀ (four f32x4 sums over d, one splat of
// q[d] feeding four products), so a small headDim (stories260K's 8) costs no horizontal sums.

export function attentionHeads(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  scratch: usize,
  t: i32,
  qDim: i32,
  kvDim: i32,
  headDim: i32,
  group: i32,
  pos0: i32,
  window: i32,
  scale: f32,
  softcap: f32,
  h0: i32,
  h1: i32,
): void {
  const hdb = (<usize>headDim) << 2;
  const kvStride = (<usize>kvDim) << 2;
  const keys = pos0 + t;
  const keysPad = ((keys + 16 + 15) >> 4) << 4;
  const rowB = (<usize>keysPad) << 2;
  const att = scratch;
  const kT = scratch + rowB;
  const negInf = f32x4.splat(-Infinity);
  const sc = f32x4.splat(scale);
  const cap = f32x4.splat(softcap);
  const invCap = f32x4.splat(softcap > 0 ? 1 / softcap : 0);
  let g0 = -1;
  for (let h = h0; h < h1; h++) {
    const g = h / group;
    if (g != g0) {
      // kᵀ of kv head g, zero past the last key (the 16-key blocks read up to 15 keys beyond).
      g0 = g;
      const kh = k + <usize>g * hdb;
      for (let d = 0; d < headDim; d++) {
        const row = kT + <usize>d * rowB;
        let src = kh + ((<usize>d) << 2);
        for (let j = 0; j < keys; j++) {
          store<f32>(row + ((<usize>j) << 2), load<f32>(src));
          src += kvStride;
        }
        memory.fill(row + ((<usize>keys) << 2), 0, <usize>(keysPad - keys) << 2);
      }
    }
    const vh = v + <usize>g * hdb;
    for (let i = 0; i < t; i++) {
      const p = pos0 + i;
      const lo = window > 0 ? max(0, p - window + 1) : 0;
      const n = p + 1 - lo;
      const n16 = (n + 15) & ~15;
      const qp = q + ((<usize>i * <usize>qDim) << 2) + <usize>h * hdb;
      const kb = kT + ((<usize>lo) << 2);
      // Scores of keys lo.., sixteen at a time.
      let mx4 = negInf;
      for (let j0 = 0; j0 < n16; j0 += 16) {
        let a0 = f32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        let kp = kb + ((<usize>j0) << 2);
        for (let d: usize = 0; d < hdb; d += 4) {
          const x = v128.load32_splat(qp + d);
          a0 = madd(x, v128.load(kp), a0);
          a1 = madd(x, v128.load(kp, 16), a1);
          a2 = madd(x, v128.load(kp, 32), a2);
          a3 = madd(x, v128.load(kp, 48), a3);
          kp += rowB;
        }
        const ap = att + ((<usize>j0) << 2);
        a0 = f32x4.mul(a0, sc);
        a1 = f32x4.mul(a1, sc);
        a2 = f32x4.mul(a2, sc);
        a3 = f32x4.mul(a3, sc);
        if (softcap > 0) {
          a0 = f32x4.mul(cap, tanh4(f32x4.mul(a0, invCap)));
          a1 = f32x4.mul(cap, tanh4(f32x4.mul(a1, invCap)));
          a2 = f32x4.mul(cap, tanh4(f32x4.mul(a2, invCap)));
          a3 = f32x4.mul(cap, tanh4(f32x4.mul(a3, invCap)));
        }
        v128.store(ap, a0);
        v128.store(ap, a1, 16);
        v128.store(ap, a2, 32);
        v128.store(ap, a3, 48);
      }
      // Keys past the query (the last block's tail) are masked.
      for (let j = n; j < n16; j++) store<f32>(att + ((<usize>j) << 2), -Infinity);
      // pmax: one instruction (max's NaN and −0 rules cost several on x64); a NaN score still
      // makes its row NaN through the exponentials' sum.
      for (let j0 = 0; j0 < n16; j0 += 4) mx4 = f32x4.pmax(mx4, v128.load(att + ((<usize>j0) << 2)));
      const mx = max(
        max(f32x4.extract_lane(mx4, 0), f32x4.extract_lane(mx4, 1)),
        max(f32x4.extract_lane(mx4, 2), f32x4.extract_lane(mx4, 3)),
      );
      // exp(s − max) (masked: 0), and their sum.
      const m4 = f32x4.splat(mx);
      let sum4 = f32x4.splat(0);
      for (let j0 = 0; j0 < n16; j0 += 4) {
        const a = att + ((<usize>j0) << 2);
        const e = exp4(f32x4.sub(v128.load(a), m4));
        v128.store(a, e);
        sum4 = f32x4.add(sum4, e);
      }
      const sum =
        f32x4.extract_lane(sum4, 0) + f32x4.extract_lane(sum4, 1) + (f32x4.extract_lane(sum4, 2) + f32x4.extract_lane(sum4, 3));
      // out = Σ_j e_j · v_j / Σ e, sixteen dims at a time where headDim allows, else four.
      const inv = f32x4.splat(1 / sum);
      const op = out + ((<usize>i * <usize>qDim) << 2) + <usize>h * hdb;
      const v0 = vh + <usize>lo * kvStride;
      let d: usize = 0;
      for (; d + 64 <= hdb; d += 64) {
        let a0 = f32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        let vp = v0 + d;
        for (let jj = 0; jj < n; jj++) {
          const w = v128.load32_splat(att + ((<usize>jj) << 2));
          a0 = madd(w, v128.load(vp), a0);
          a1 = madd(w, v128.load(vp, 16), a1);
          a2 = madd(w, v128.load(vp, 32), a2);
          a3 = madd(w, v128.load(vp, 48), a3);
          vp += kvStride;
        }
        v128.store(op + d, f32x4.mul(a0, inv));
        v128.store(op + d, f32x4.mul(a1, inv), 16);
        v128.store(op + d, f32x4.mul(a2, inv), 32);
        v128.store(op + d, f32x4.mul(a3, inv), 48);
      }
      // Fewer than sixteen dims: two keys (eight dims) or four keys (four dims) per step, each
      // into its own sums, so the multiply-adds do not wait on one chain's latency.
      for (; d + 32 <= hdb; d += 32) {
        let a0 = f32x4.splat(0);
        let a1 = a0;
        let b0 = a0;
        let b1 = a0;
        let vp = v0 + d;
        let jj = 0;
        for (; jj + 1 < n; jj += 2) {
          const w = v128.load32_splat(att + ((<usize>jj) << 2));
          const u = v128.load32_splat(att + ((<usize>jj) << 2), 4);
          a0 = madd(w, v128.load(vp), a0);
          a1 = madd(w, v128.load(vp, 16), a1);
          b0 = madd(u, v128.load(vp + kvStride), b0);
          b1 = madd(u, v128.load(vp + kvStride, 16), b1);
          vp += kvStride << 1;
        }
        if (jj < n) {
          const w = v128.load32_splat(att + ((<usize>jj) << 2));
          a0 = madd(w, v128.load(vp), a0);
          a1 = madd(w, v128.load(vp, 16), a1);
        }
        v128.store(op + d, f32x4.mul(f32x4.add(a0, b0), inv));
        v128.store(op + d, f32x4.mul(f32x4.add(a1, b1), inv), 16);
      }
      for (; d < hdb; d += 16) {
        let a0 = f32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        let vp = v0 + d;
        let jj = 0;
        for (; jj + 3 < n; jj += 4) {
          const w = att + ((<usize>jj) << 2);
          a0 = madd(v128.load32_splat(w), v128.load(vp), a0);
          a1 = madd(v128.load32_splat(w, 4), v128.load(vp + kvStride), a1);
          a2 = madd(v128.load32_splat(w, 8), v128.load(vp + 2 * kvStride), a2);
          a3 = madd(v128.load32_splat(w, 12), v128.load(vp + 3 * kvStride), a3);
          vp += kvStride << 2;
        }
        for (; jj < n; jj++) {
          a0 = madd(v128.load32_splat(att + ((<usize>jj) << 2)), v128.load(vp), a0);
          vp += kvStride;
        }
        v128.store(op + d, f32x4.mul(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), inv));
      }
    }
  }
}

/**
 * tanh on four lanes: 1 − 2 / (e^{2y} + 1) (exp4: saturates to ±1 far out), and below |y| = 1/4,
 * where that difference cancels, its odd Taylor series to y⁹ (the next term is under 2e-9
 * relative there).
 */
// @ts-ignore: decorator
@inline
function tanh4(y: v128): v128 {
  const far = f32x4.sub(
    f32x4.splat(1),
    f32x4.div(f32x4.splat(2), f32x4.add(exp4(f32x4.add(y, y)), f32x4.splat(1))),
  );
  const y2 = f32x4.mul(y, y);
  let p = madd(y2, f32x4.splat(62.0 / 2835.0), f32x4.splat(-17.0 / 315.0));
  p = madd(p, y2, f32x4.splat(2.0 / 15.0));
  p = madd(p, y2, f32x4.splat(-1.0 / 3.0));
  p = madd(p, y2, f32x4.splat(1));
  const near = f32x4.mul(y, p);
  return v128.bitselect(near, far, f32x4.lt(f32x4.abs(y), f32x4.splat(0.25)));
}

/**
 * e^x on four lanes (Cephes' expf: x = n·ln2 + r, |r| ≤ ln2/2, a degree-6 polynomial for e^r,
 * 2^n built in the exponent bits): within 2 ulp for x in [−87, 88]; 0 below −87 (−∞: a masked key).
 */
// @ts-ignore: decorator
@inline
export function exp4(x0: v128): v128 {
  // pmin / pmax (one instruction each; a NaN x0 passes through both).
  let x = f32x4.pmax(f32x4.pmin(x0, f32x4.splat(88.3762626647949)), f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  // x − n·ln2 in two parts (Cody–Waite), and Horner's steps, as fused multiply-adds where built so.
  let r = madd(n, f32x4.splat(-0.693359375), x);
  r = madd(n, f32x4.splat(2.12194440e-4), r);
  const r2 = f32x4.mul(r, r);
  let y = madd(f32x4.splat(1.9875691500e-4), r, f32x4.splat(1.3981999507e-3));
  y = madd(y, r, f32x4.splat(8.3334519073e-3));
  y = madd(y, r, f32x4.splat(4.1665795894e-2));
  y = madd(y, r, f32x4.splat(1.6666665459e-1));
  y = madd(y, r, f32x4.splat(5.0000001201e-1));
  y = f32x4.add(madd(y, r2, r), f32x4.splat(1.0));
  // n is a whole number in [−126, 128]: relaxed truncation (one instruction) is exact here.
  const ni = ASC_FEATURE_RELAXED_SIMD ? i32x4.relaxed_trunc_f32x4_s(n) : i32x4.trunc_sat_f32x4_s(n);
  const pow2n = i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23);
  // Below −87 (−∞: a masked key) exactly 0; NaN stays NaN.
  return v128.andnot(f32x4.mul(y, pow2n), f32x4.lt(x0, f32x4.splat(-87.0)));
}
