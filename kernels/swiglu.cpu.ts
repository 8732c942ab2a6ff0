import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { sameShape } from './shapes';

/** Reference SwiGLU: silu(gate) * up, with silu(x) = x / (1 + e^−x). */
export function swigluCpu(gate: Tensor<'f32'>, up: Tensor<'f32'>): Tensor<'f32'> {
  sameShape(gate.shape, up.shape, 'swiglu');
  const G = cpu(gate).data;
  const U = cpu(up).data;
  const out = new Float32Array(G.length);
  for (let i = 0; i < G.length; i++) out[i] = (G[i]! / (1 + Math.exp(-G[i]!))) * U[i]!;
  return f32(out, gate.shape);
}
