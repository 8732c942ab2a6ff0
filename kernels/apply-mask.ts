import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { checkMaskWords } from './apply-mask.cpu';
import source from './apply-mask.wgsl?raw';

/** WebGPU dispatcher of `applyMask`: one thread per weight. */
export function applyMaskGpu(ctx: GpuContext, w: Tensor<'f32'>, mask: Tensor<'i32'>): Tensor<'f32'> {
  checkMaskWords(w, mask);
  const out = ctx.createTensor(w.shape, 'f32');
  ctx.dispatch({
    key: 'applyMask',
    code: () => source,
    tensors: [w, mask, out],
    uniforms: [{ u32: w.size }],
    workgroups: grid(Math.ceil(w.size / 256)),
  });
  return out;
}
