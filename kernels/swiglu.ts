import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { sameShape } from './shapes';
import source from './swiglu.wgsl?raw';

/** WebGPU dispatcher of `swiglu` (silu(gate) * up): one thread per element. */
export function swigluGpu(ctx: GpuContext, gate: Tensor<'f32'>, up: Tensor<'f32'>): Tensor<'f32'> {
  sameShape(gate.shape, up.shape, 'swiglu');
  for (const t of [gate, up]) assertDType(gpu(t), 'f32', 'swiglu');
  const out = ctx.createTensor(gate.shape, 'f32');
  ctx.dispatch({
    key: 'swiglu',
    code: () => source,
    tensors: [gate, up, out],
    uniforms: [{ u32: gate.size }],
    workgroups: grid(Math.ceil(gate.size / 256)),
  });
  return out;
}
