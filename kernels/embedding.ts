import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import type { GpuContext } from './gpu-context';
import { gpu } from './gpu-tensor';
import { grid } from './gpu-context';
import source from './embedding.wgsl?raw';

/**
 * WebGPU dispatcher of `embedding`: table [V, D], ids i32 (any shape, T elements) → [T, D], one
 * thread per output element. An id outside [0, V) yields a zero row (the CPU reference throws).
 */
export function embeddingGpu(ctx: GpuContext, table: Tensor<'f32'>, ids: Tensor<'i32'>): Tensor<'f32'> {
  if (table.shape.length !== 2)
    throw new Error(`embedding: table must be [V, D], got [${table.shape.join(', ')}]`);
  assertDType(gpu(table), 'f32', 'embedding table');
  assertDType(gpu(ids), 'i32', 'embedding ids');
  const [v, d] = table.shape as [number, number];
  const out = ctx.createTensor([ids.size, d], 'f32');
  const n = ids.size * d;
  ctx.dispatch({
    key: 'embedding',
    code: () => source,
    tensors: [table, ids, out],
    uniforms: [{ u32: n }, { u32: d }, { u32: v }],
    workgroups: grid(Math.ceil(n / 256)),
  });
  return out;
}
