import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { sameShape } from './shapes';
import source from './add.wgsl?raw';

/** WebGPU dispatcher of `add`: one thread per element. */
export function addGpu(ctx: GpuContext, a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
  sameShape(a.shape, b.shape, 'add');
  const out = ctx.createTensor(a.shape, 'f32');
  ctx.dispatch({
    key: 'add',
    code: () => source,
    tensors: [a, b, out],
    uniforms: [{ u32: a.size }],
    workgroups: grid(Math.ceil(a.size / 256)),
  });
  return out;
}
