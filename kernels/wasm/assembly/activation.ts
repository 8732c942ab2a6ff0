// AssemblyScript (compiled by scripts/wasm-build.mjs): the FFN activations of
// kernels/activation.cpu.ts that need an exponential, four values at a time.
import { exp4 } from './attention';

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

/** kind 0: silu(x) = x / (1 + e^−x); kind 1: gelu_tanh(x) = x / (1 + e^−2u), u = √(2/π)(x + 0.044715x³). */
// @ts-ignore: decorator
@inline
function act4(x: v128, kind: i32): v128 {
  let z: v128;
  if (kind == 0) z = f32x4.neg(x);
  else {
    const x3 = f32x4.mul(f32x4.mul(x, x), x);
    const u = f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), f32x4.add(x, f32x4.mul(f32x4.splat(0.044715), x3)));
    z = f32x4.mul(f32x4.splat(-2), u);
  }
  return f32x4.div(x, f32x4.add(f32x4.splat(1), exp4(z)));
}

/**
 * out[i] = act(x[i]) (up = 0) or act(x[i]) · up[i], for i < n (f32 arrays).
 */
export function activationRows(x: usize, up: usize, out: usize, n: i32, kind: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    let y = act4(v128.load(x + o), kind);
    if (up) y = f32x4.mul(y, v128.load(up + o));
    v128.store(out + o, y);
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    let y = f32x4.extract_lane(act4(f32x4.splat(load<f32>(x + o)), kind), 0);
    if (up) y *= load<f32>(up + o);
    store<f32>(out + o, y);
  }
}
