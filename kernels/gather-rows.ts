import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import type { GpuContext } from './gpu-context';
import { gpu } from './gpu-tensor';
import { grid } from './gpu-context';
import { gatherRowsDims } from './shapes';
import source from './gather-rows.wgsl?raw';

/**
 * WebGPU dispatcher of `gatherRows`: x [T, D], rows i32 [n] → [n, D], one thread per output
 * element. A row index outside [0, T) yields a zero row (the CPU reference throws).
 */
export function gatherRowsGpu(ctx: GpuContext, x: Tensor<'f32'>, rows: Tensor<'i32'>): Tensor<'f32'> {
  const { t, d } = gatherRowsDims(x.shape);
  assertDType(gpu(x), 'f32', 'gatherRows x');
  assertDType(gpu(rows), 'i32', 'gatherRows rows');
  const out = ctx.createTensor([rows.size, d], 'f32');
  const n = rows.size * d;
  if (n === 0) return out;
  ctx.dispatch({
    key: 'gatherRows',
    code: () => source,
    tensors: [x, rows, out],
    uniforms: [{ u32: n }, { u32: d }, { u32: t }],
    workgroups: grid(Math.ceil(n / 256)),
  });
  return out;
}
