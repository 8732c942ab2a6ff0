import type { FloatDType, Tensor } from './tensor';
import { assertDType } from './tensor';
import type { GpuContext } from './gpu-context';
import { gpu } from './gpu-tensor';
import { grid } from './gpu-context';
import { weightFlags } from './weight-wgsl';
import { specialize } from './wgsl';
import source from './embedding.wgsl?raw';

/**
 * WebGPU dispatcher of `embedding`: table [V, D] (f32, or a 16-bit weight decoded as it is read),
 * ids i32 (any shape, T elements) → [T, D], one thread per output element. An id outside
 * [rowOffset, rowOffset + V) yields a zero row (the CPU reference throws without rowOffset).
 */
export function embeddingGpu(
  ctx: GpuContext,
  table: Tensor<FloatDType>,
  ids: Tensor<'i32'>,
  opts: { rowOffset?: number } = {},
): Tensor<'f32'> {
  if (table.shape.length !== 2)
    throw new Error(`embedding: table must be [V, D], got [${table.shape.join(', ')}]`);
  const dtype = gpu(table).dtype;
  if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'bf16')
    throw new Error(`embedding table: expected dtype f32, f16 or bf16, got ${String(dtype)}`);
  assertDType(gpu(ids), 'i32', 'embedding ids');
  const rowOffset = opts.rowOffset ?? 0;
  if (!Number.isInteger(rowOffset) || rowOffset < 0)
    throw new Error(`embedding: rowOffset ${rowOffset} must be a non-negative integer`);
  const [v, d] = table.shape as [number, number];
  const out = ctx.createTensor([ids.size, d], 'f32');
  const n = ids.size * d;
  ctx.dispatch({
    key: `embedding:${dtype}`,
    code: () => specialize(source, {}, weightFlags('TABLE', dtype)),
    tensors: [table, ids, out],
    uniforms: [{ u32: n }, { u32: d }, { u32: v }, { u32: rowOffset }],
    workgroups: grid(Math.ceil(n / 256)),
  });
  return out;
}
