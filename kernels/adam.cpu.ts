import type { AdamUpdateOptions, AdamUpdateResult } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { sameShape } from './shapes';

/** Bias corrections 1 − β^t of Adam's step t (≥ 1), or an error for bad settings. */
export function adamCorrections(o: AdamUpdateOptions): { c1: number; c2: number } {
  if (!(Number.isInteger(o.step) && o.step >= 1)) throw new Error(`adamUpdate: step=${o.step} must be ≥ 1`);
  if (!(o.lr > 0)) throw new Error(`adamUpdate: invalid lr ${o.lr}`);
  for (const b of [o.beta1, o.beta2]) {
    if (!(b >= 0 && b < 1)) throw new Error(`adamUpdate: invalid beta ${b} (expected 0 ≤ β < 1)`);
  }
  return { c1: 1 - o.beta1 ** o.step, c2: 1 - o.beta2 ** o.step };
}

export function checkAdam(p: Tensor<'f32'>, g: Tensor<'f32'>, m: Tensor<'f32'>, v: Tensor<'f32'>): void {
  sameShape(p.shape, g.shape, 'adamUpdate grad');
  sameShape(p.shape, m.shape, 'adamUpdate m');
  sameShape(p.shape, v.shape, 'adamUpdate v');
}

/** Reference Adam step, element by element in float64 as analyses/sae/adam.ts does. */
export function adamUpdateCpu(
  param: Tensor<'f32'>,
  grad: Tensor<'f32'>,
  m: Tensor<'f32'>,
  v: Tensor<'f32'>,
  o: AdamUpdateOptions,
): AdamUpdateResult {
  checkAdam(param, grad, m, v);
  const { c1, c2 } = adamCorrections(o);
  const { lr, beta1: b1, beta2: b2, eps } = o;
  const P = cpu(param).data;
  const G = cpu(grad).data;
  const M = cpu(m).data;
  const V = cpu(v).data;
  const p2 = new Float32Array(P.length);
  const m2 = new Float32Array(P.length);
  const v2 = new Float32Array(P.length);
  for (let i = 0; i < P.length; i++) {
    const gi = G[i]!;
    const mi = b1 * M[i]! + (1 - b1) * gi;
    const vi = b2 * V[i]! + (1 - b2) * gi * gi;
    m2[i] = mi;
    v2[i] = vi;
    p2[i] = P[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
  return { param: f32(p2, param.shape), m: f32(m2, param.shape), v: f32(v2, param.shape) };
}
