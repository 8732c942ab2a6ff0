import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { layernormDims } from './layernorm.cpu';
import { rmsnormLayout } from './rmsnorm';
import { specialize } from './wgsl';
import source from './layernorm.wgsl?raw';

/**
 * WebGPU dispatcher of `layernorm` over the last dim. Threads share rows as rmsnorm's do
 * (`rmsnormLayout`: the same row reduction, one more pass); `layout` overrides it (tests).
 */
export function layernormGpu(
  ctx: GpuContext,
  x: Tensor<'f32'>,
  weight: Tensor<'f32'>,
  bias: Tensor<'f32'> | undefined,
  eps: number,
  layout = rmsnormLayout(x.shape[x.shape.length - 1] ?? 1),
): Tensor<'f32'> {
  const [rows, cols] = layernormDims(x, weight, bias);
  for (const t of [x, weight, bias]) if (t) assertDType(gpu(t), 'f32', 'layernorm');
  const out = ctx.createTensor(x.shape, 'f32');
  if (rows === 0) return out;
  const { wg, lanes } = layout;
  ctx.dispatch({
    key: `layernorm:${wg}:${lanes}`,
    code: () => specialize(source, { WG: wg, LANES: lanes }),
    tensors: [x, weight, bias ?? weight, out],
    uniforms: [{ u32: rows }, { u32: cols }, { f32: eps }, { u32: bias ? 1 : 0 }],
    workgroups: grid(Math.ceil(rows / (wg / lanes))),
  });
  return out;
}
