import type { RowAffineOptions } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { checkRowAffine } from './row-affine.cpu';
import source from './row-affine.wgsl?raw';

/** WebGPU dispatcher of `rowAffine`: one thread per element. */
export function rowAffineGpu(ctx: GpuContext, x: Tensor<'f32'>, o: RowAffineOptions = {}): Tensor<'f32'> {
  const [, cols] = checkRowAffine(x, o);
  const out = ctx.createTensor(x.shape, 'f32');
  if (x.size === 0) return out;
  ctx.dispatch({
    key: 'rowAffine',
    code: () => source,
    tensors: [x, o.bias ?? x, o.minus ?? x, out],
    uniforms: [
      { u32: x.size },
      { u32: cols },
      { f32: o.scale ?? 1 },
      { f32: o.biasScale ?? 1 },
      { u32: o.bias ? 1 : 0 },
      { u32: o.minus ? 1 : 0 },
    ],
    workgroups: grid(Math.ceil(x.size / 256)),
  });
  return out;
}
