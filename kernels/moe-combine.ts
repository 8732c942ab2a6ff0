import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import type { GpuContext } from './gpu-context';
import { gpu } from './gpu-tensor';
import { grid } from './gpu-context';
import { moeCombineDims } from './shapes';
import source from './moe-combine.wgsl?raw';

/**
 * WebGPU dispatcher of `moeCombine`: y [n, D], slots i32 [T, k], gates [T, k] → [T, D], one
 * thread per output element (race-free: each token's row is written by its own threads only).
 */
export function moeCombineGpu(
  ctx: GpuContext,
  y: Tensor<'f32'>,
  slots: Tensor<'i32'>,
  gates: Tensor<'f32'>,
): Tensor<'f32'> {
  const { n, d, t, k } = moeCombineDims(y.shape, slots.shape, gates.shape);
  assertDType(gpu(y), 'f32', 'moeCombine y');
  assertDType(gpu(slots), 'i32', 'moeCombine slots');
  assertDType(gpu(gates), 'f32', 'moeCombine gates');
  const out = ctx.createTensor([t, d], 'f32');
  const total = t * d;
  if (total === 0) return out;
  ctx.dispatch({
    key: 'moeCombine',
    code: () => source,
    tensors: [y, slots, gates, out],
    uniforms: [{ u32: total }, { u32: d }, { u32: k }, { u32: n }],
    workgroups: grid(Math.ceil(total / 256)),
  });
  return out;
}
