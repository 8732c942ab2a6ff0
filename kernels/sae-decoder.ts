import type { SaeDecoderGradOptions } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { checkDecoderGrad } from './sae-decoder.cpu';
import { specialize } from './wgsl';
import source from './sae-decoder.wgsl?raw';

/** WebGPU dispatcher of `saeDecoderGrad`: one thread per decoder row. */
export function saeDecoderGradGpu(
  ctx: GpuContext,
  g: Tensor<'f32'>,
  w: Tensor<'f32'>,
  o: SaeDecoderGradOptions,
): Tensor<'f32'> {
  const [rows, cols] = checkDecoderGrad(g, w, o);
  const out = ctx.createTensor(w.shape, 'f32');
  ctx.dispatch({
    key: 'saeDecoderGrad',
    code: () => specialize(source, {}, { GRAD: true }),
    tensors: [g, w, o.rowScale ?? w, out],
    uniforms: [{ u32: rows }, { u32: cols }, { u32: o.rowScale ? 1 : 0 }, { u32: o.project ? 1 : 0 }],
    workgroups: grid(Math.ceil(rows / 64)),
  });
  return out;
}

/** WebGPU dispatcher of `normalizeRows`: one thread per row. */
export function normalizeRowsGpu(ctx: GpuContext, w: Tensor<'f32'>): Tensor<'f32'> {
  if (w.shape.length !== 2)
    throw new Error(`normalizeRows: w must be [rows, cols], got [${w.shape.join(', ')}]`);
  const [rows, cols] = w.shape as [number, number];
  const out = ctx.createTensor(w.shape, 'f32');
  ctx.dispatch({
    key: 'normalizeRows',
    code: () => specialize(source, {}, { GRAD: false }),
    tensors: [w, out],
    uniforms: [{ u32: rows }, { u32: cols }, { u32: 0 }, { u32: 0 }],
    workgroups: grid(Math.ceil(rows / 64)),
  });
  return out;
}
