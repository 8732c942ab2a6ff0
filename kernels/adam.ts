import type { AdamUpdateOptions, AdamUpdateResult } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { adamCorrections, checkAdam } from './adam.cpu';
import source from './adam.wgsl?raw';

/** WebGPU dispatcher of `adamUpdate`: one thread per element, float32 arithmetic. */
export function adamUpdateGpu(
  ctx: GpuContext,
  param: Tensor<'f32'>,
  grad: Tensor<'f32'>,
  m: Tensor<'f32'>,
  v: Tensor<'f32'>,
  o: AdamUpdateOptions,
): AdamUpdateResult {
  checkAdam(param, grad, m, v);
  const { c1, c2 } = adamCorrections(o);
  const out = {
    param: ctx.createTensor(param.shape, 'f32'),
    m: ctx.createTensor(param.shape, 'f32'),
    v: ctx.createTensor(param.shape, 'f32'),
  };
  if (param.size === 0) return out;
  ctx.dispatch({
    key: 'adamUpdate',
    code: () => source,
    tensors: [param, grad, m, v, out.param, out.m, out.v],
    uniforms: [
      { u32: param.size },
      { f32: o.lr },
      { f32: o.beta1 },
      { f32: o.beta2 },
      { f32: o.eps },
      { f32: c1 },
      { f32: c2 },
      { f32: 1 - o.beta1 },
      { f32: 1 - o.beta2 },
    ],
    workgroups: grid(Math.ceil(param.size / 256)),
  });
  return out;
}
