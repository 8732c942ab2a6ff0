import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { moeCombineDims } from './shapes';

/**
 * Reference MoE combine: out[t] = Σ_j gates[t, j] · y[slots[t, j]] (j in order; slot −1 skipped,
 * any other slot outside [0, n) throws).
 */
export function moeCombineCpu(y: Tensor<'f32'>, slots: Tensor<'i32'>, gates: Tensor<'f32'>): Tensor<'f32'> {
  const { n, d, t, k } = moeCombineDims(y.shape, slots.shape, gates.shape);
  assertDType(y, 'f32', 'moeCombine y');
  assertDType(slots, 'i32', 'moeCombine slots');
  assertDType(gates, 'f32', 'moeCombine gates');
  const Y = cpu(y).data;
  const S = cpu(slots).data;
  const G = cpu(gates).data;
  const out = new Float32Array(t * d);
  for (let r = 0; r < t; r++) {
    for (let j = 0; j < k; j++) {
      const s = S[r * k + j]!;
      if (s === -1) continue;
      if (!(s >= 0 && s < n)) {
        throw new Error(`moeCombine: slot ${s} of token ${r} (choice ${j}) is outside [0, ${n}) and not -1`);
      }
      const g = G[r * k + j]!;
      for (let c = 0; c < d; c++) out[r * d + c]! += g * Y[s * d + c]!;
    }
  }
  return f32(out, [t, d]);
}
