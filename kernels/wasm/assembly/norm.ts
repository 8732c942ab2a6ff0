// AssemblyScript (compiled by scripts/wasm-build.mjs): the row norms of kernels/rmsnorm.cpu.ts and
// kernels/layernorm.cpu.ts, four columns at a time (cols a multiple of 4; the host keeps the
// TypeScript kernels for any other width).

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** out[r] = x[r] / sqrt(mean(x[r]²) + eps) · w, for `rows` runs of `cols` values. */
export function rmsnormRows(x: usize, w: usize, out: usize, rows: i32, cols: i32, eps: f32): void {
  const cb = (<usize>cols) << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * cb;
    const or = out + <usize>r * cb;
    let s0 = f32x4.splat(0);
    let s1 = s0;
    let c: usize = 0;
    for (; c + 32 <= cb; c += 32) {
      const a = v128.load(xr + c);
      const b = v128.load(xr + c, 16);
      s0 = f32x4.add(s0, f32x4.mul(a, a));
      s1 = f32x4.add(s1, f32x4.mul(b, b));
    }
    for (; c < cb; c += 16) {
      const a = v128.load(xr + c);
      s0 = f32x4.add(s0, f32x4.mul(a, a));
    }
    const inv = f32x4.splat(1 / Mathf.sqrt(hsum(f32x4.add(s0, s1)) / <f32>cols + eps));
    for (c = 0; c < cb; c += 16) v128.store(or + c, f32x4.mul(f32x4.mul(v128.load(xr + c), inv), v128.load(w + c)));
  }
}

/**
 * out[r] = (x[r] − mean) / sqrt(var + eps) · w + b (b = 0: none), biased variance, two passes.
 * The mean is taken of x − x[0] (then shifted back), so a large common offset costs no accuracy in
 * float32.
 */
export function layernormRows(x: usize, w: usize, b: usize, out: usize, rows: i32, cols: i32, eps: f32): void {
  const cb = (<usize>cols) << 2;
  const n = <f32>cols;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * cb;
    const or = out + <usize>r * cb;
    const x0 = v128.load32_splat(xr);
    let s = f32x4.splat(0);
    for (let c: usize = 0; c < cb; c += 16) s = f32x4.add(s, f32x4.sub(v128.load(xr + c), x0));
    const mean = f32x4.add(x0, f32x4.splat(hsum(s) / n));
    let q = f32x4.splat(0);
    for (let c: usize = 0; c < cb; c += 16) {
      const d = f32x4.sub(v128.load(xr + c), mean);
      q = f32x4.add(q, f32x4.mul(d, d));
    }
    const inv = f32x4.splat(1 / Mathf.sqrt(hsum(q) / n + eps));
    for (let c: usize = 0; c < cb; c += 16) {
      let y = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(xr + c), mean), inv), v128.load(w + c));
      if (b) y = f32x4.add(y, v128.load(b + c));
      v128.store(or + c, y);
    }
  }
}
