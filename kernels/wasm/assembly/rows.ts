// AssemblyScript (compiled by scripts/wasm-build.mjs): the row softmax of kernels/softmax.cpu.ts
// and the row top-k of kernels/topk.cpu.ts.
import { exp4 } from './attention';

/** Values summed in float32 lanes before they are added to the float64 total (a long row stays exact to ~1e-7). */
const FLUSH: usize = 256;

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** out[r] = softmax(x[r]) for `rows` runs of `cols` values: the row's max subtracted, e^z / Σ e^z. */
export function softmaxRows(x: usize, out: usize, rows: i32, cols: i32): void {
  const n = <usize>cols;
  const rb = n << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rb;
    const or = out + <usize>r * rb;
    let m = f32x4.splat(-Infinity);
    let c: usize = 0;
    // pmax: one instruction; a NaN value still makes the row NaN through the sum.
    for (; c + 4 <= n; c += 4) m = f32x4.pmax(m, v128.load(xr + (c << 2)));
    let max = Mathf.max(
      Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
      Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)),
    );
    for (; c < n; c++) max = Mathf.max(max, load<f32>(xr + (c << 2)));
    const mv = f32x4.splat(max);
    let sum: f64 = 0;
    let s = f32x4.splat(0);
    for (c = 0; c + 4 <= n; c += 4) {
      const e = exp4(f32x4.sub(v128.load(xr + (c << 2)), mv));
      v128.store(or + (c << 2), e);
      s = f32x4.add(s, e);
      if ((c + 4) % FLUSH == 0) {
        sum += <f64>hsum(s);
        s = f32x4.splat(0);
      }
    }
    sum += <f64>hsum(s);
    for (; c < n; c++) {
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(xr + (c << 2)) - max)), 0);
      store<f32>(or + (c << 2), e);
      sum += <f64>e;
    }
    const total = <f32>sum;
    const tv = f32x4.splat(total);
    for (c = 0; c + 4 <= n; c += 4) v128.store(or + (c << 2), f32x4.div(v128.load(or + (c << 2)), tv));
    for (; c < n; c++) store<f32>(or + (c << 2), load<f32>(or + (c << 2)) / total);
  }
}

/**
 * The k largest values of each row, largest first, ties to the lower index (as the TypeScript
 * kernel's stable sort): values to outV and their columns to outI, k per row. An insertion into
 * the row's k kept so far, so O(cols · k) at worst; the host sends only small k here, and no NaN.
 */
export function topkRows(x: usize, outV: usize, outI: usize, rows: i32, cols: i32, k: i32): void {
  const n = <usize>cols;
  const kk = <usize>k;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * (n << 2);
    const vr = outV + <usize>r * (kk << 2);
    const ir = outI + <usize>r * (kk << 2);
    let filled: usize = 0;
    for (let j: usize = 0; j < n; j++) {
      const v = load<f32>(xr + (j << 2));
      if (filled == kk && !(v > load<f32>(vr + ((kk - 1) << 2)))) continue;
      let pos = filled < kk ? filled++ : kk - 1;
      while (pos > 0 && load<f32>(vr + ((pos - 1) << 2)) < v) {
        store<f32>(vr + (pos << 2), load<f32>(vr + ((pos - 1) << 2)));
        store<i32>(ir + (pos << 2), load<i32>(ir + ((pos - 1) << 2)));
        pos--;
      }
      store<f32>(vr + (pos << 2), v);
      store<i32>(ir + (pos << 2), <i32>j);
    }
  }
}
