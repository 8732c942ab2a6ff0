// AssemblyScript (compiled by scripts/wasm-build.mjs): causal grouped-query attention, the plain
// path of kernels/attention.cpu.ts (no probabilities, scores, statistics or probe returned; no
// soft-cap), in f32x4 SIMD. Same memory rules as matmul.ts: the host owns every byte.
//
//   q [t, qDim], k and v [tk, kvDim], out [t, qDim] (f32, row-major); qDim = nHeads·headDim,
//   kvDim = nKvHeads·headDim, headDim a multiple of 4. att: scratch of pos0 + t floats.
//   Query row i sits at position pos0 + i and attends keys lo..pos0 + i, lo = max(0, p − window + 1)
//   (window 0: no window). Heads h0..h1 − 1 are computed (a thread's share).

export function attentionHeads(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  att: usize,
  t: i32,
  qDim: i32,
  kvDim: i32,
  headDim: i32,
  group: i32,
  pos0: i32,
  window: i32,
  scale: f32,
  h0: i32,
  h1: i32,
): void {
  const hdb = (<usize>headDim) << 2;
  const kvStride = (<usize>kvDim) << 2;
  for (let h = h0; h < h1; h++) {
    const g = h / group;
    const kh = k + <usize>g * hdb;
    const vh = v + <usize>g * hdb;
    for (let i = 0; i < t; i++) {
      const p = pos0 + i;
      const lo = window > 0 ? max(0, p - window + 1) : 0;
      const n = p + 1 - lo;
      const qp = q + ((<usize>i * <usize>qDim) << 2) + <usize>h * hdb;
      // Scores, and their maximum.
      let mx = -Infinity as f32;
      let kp = kh + <usize>lo * kvStride;
      for (let j = 0; j < n; j++) {
        let acc = f32x4.mul(v128.load(qp), v128.load(kp));
        for (let d: usize = 16; d < hdb; d += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(qp + d), v128.load(kp + d)));
        const s =
          (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3))) *
          scale;
        store<f32>(att + ((<usize>j) << 2), s);
        mx = max(mx, s);
        kp += kvStride;
      }
      // exp(s − max), and their sum (four lanes, then across).
      const m4 = f32x4.splat(mx);
      let sum4 = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const e = exp4(f32x4.sub(v128.load(att + ((<usize>j) << 2)), m4));
        v128.store(att + ((<usize>j) << 2), e);
        sum4 = f32x4.add(sum4, e);
      }
      let sum =
        f32x4.extract_lane(sum4, 0) + f32x4.extract_lane(sum4, 1) + (f32x4.extract_lane(sum4, 2) + f32x4.extract_lane(sum4, 3));
      for (; j < n; j++) {
        const a = att + ((<usize>j) << 2);
        const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(a) - mx)), 0);
        store<f32>(a, e);
        sum += e;
      }
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
          a0 = f32x4.add(a0, f32x4.mul(w, v128.load(vp)));
          a1 = f32x4.add(a1, f32x4.mul(w, v128.load(vp, 16)));
          a2 = f32x4.add(a2, f32x4.mul(w, v128.load(vp, 32)));
          a3 = f32x4.add(a3, f32x4.mul(w, v128.load(vp, 48)));
          vp += kvStride;
        }
        v128.store(op + d, f32x4.mul(a0, inv));
        v128.store(op + d, f32x4.mul(a1, inv), 16);
        v128.store(op + d, f32x4.mul(a2, inv), 32);
        v128.store(op + d, f32x4.mul(a3, inv), 48);
      }
      for (; d + 32 <= hdb; d += 32) {
        let a0 = f32x4.splat(0);
        let a1 = a0;
        let vp = v0 + d;
        for (let jj = 0; jj < n; jj++) {
          const w = v128.load32_splat(att + ((<usize>jj) << 2));
          a0 = f32x4.add(a0, f32x4.mul(w, v128.load(vp)));
          a1 = f32x4.add(a1, f32x4.mul(w, v128.load(vp, 16)));
          vp += kvStride;
        }
        v128.store(op + d, f32x4.mul(a0, inv));
        v128.store(op + d, f32x4.mul(a1, inv), 16);
      }
      for (; d < hdb; d += 16) {
        let a0 = f32x4.splat(0);
        let vp = v0 + d;
        for (let jj = 0; jj < n; jj++) {
          a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(att + ((<usize>jj) << 2)), v128.load(vp)));
          vp += kvStride;
        }
        v128.store(op + d, f32x4.mul(a0, inv));
      }
    }
  }
}

/**
 * e^x on four lanes (Cephes' expf: x = n·ln2 + r, |r| ≤ ln2/2, a degree-6 polynomial for e^r,
 * 2^n built in the exponent bits): within 2 ulp for x in [−87, 88]; x below −87 gives e^−87 (the
 * softmax's masked keys are never visited, so this only rounds a vanishing weight).
 */
// @ts-ignore: decorator
@inline
export function exp4(x: v128): v128 {
  x = f32x4.max(f32x4.min(x, f32x4.splat(88.3762626647949)), f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  const r2 = f32x4.mul(r, r);
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, r2), r), f32x4.splat(1.0));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}
