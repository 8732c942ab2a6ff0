import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { sameShape } from './shapes';

/** Reference elementwise add (residual connections). */
export function addCpu(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  sameShape(a.shape, b.shape, 'add');
  const A = cpu(a).data;
  const B = cpu(b).data;
  const out = new Float32Array(A.length);
  for (let i = 0; i < A.length; i++) out[i] = A[i]! + B[i]!;
  return f32(out, a.shape);
}
