import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { checkSoftcap } from './softcap.cpu';
import source from './softcap.wgsl?raw';

/** WebGPU dispatcher of `softcap` (cap·tanh(x / cap)): one thread per element. */
export function softcapGpu(ctx: GpuContext, x: Tensor<'f32'>, cap: number): Tensor<'f32'> {
  checkSoftcap(cap);
  assertDType(gpu(x), 'f32', 'softcap');
  const out = ctx.createTensor(x.shape, 'f32');
  ctx.dispatch({
    key: 'softcap',
    code: () => source,
    tensors: [x, out],
    uniforms: [{ u32: x.size }, { f32: cap }],
    workgroups: grid(Math.ceil(x.size / 256)),
  });
  return out;
}
