import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { rmsnormDims } from './rmsnorm.cpu';
import { specialize } from './wgsl';
import source from './rmsnorm.wgsl?raw';

/**
 * Threads per workgroup, and threads sharing one row (1, 8 or 64), so that each thread walks at
 * most ~512 columns. Rows of up to 512 columns get a thread each and no barrier at all: on
 * SwiftShader a workgroup barrier costs ~30 µs per 64-thread workgroup, so one workgroup per
 * 64-wide row ran 9× slower than a thread per row (8.2 ms vs 0.9 ms for [512, 64]); a lone
 * 32000-wide row is 3× faster with 64 lanes than with one (0.8 ms vs 2.2 ms).
 */
export function rmsnormLayout(cols: number): { wg: number; lanes: number } {
  return { wg: 64, lanes: cols <= 512 ? 1 : cols <= 4096 ? 8 : 64 };
}

/**
 * WebGPU dispatcher of `rmsnorm` over the last dim, or with `groupSize` over each run of groupSize
 * consecutive values: those runs are simply the rows of x viewed as [size / groupSize, groupSize]
 * (the shader indexes weight by column within a row), so the kernel is the same. `layout` overrides
 * the choice (tests, benchmarks).
 */
export function rmsnormGpu(
  ctx: GpuContext,
  x: Tensor<'f32'>,
  weight: Tensor<'f32'>,
  eps: number,
  layout?: { wg: number; lanes: number },
  groupSize?: number,
): Tensor<'f32'> {
  // Same checks and messages as rmsnormCpu.
  const [rows, cols] = rmsnormDims(x, weight, groupSize);
  for (const t of [x, weight]) assertDType(gpu(t), 'f32', 'rmsnorm');
  const out = ctx.createTensor(x.shape, 'f32');
  if (rows === 0) return out;
  const { wg, lanes } = layout ?? rmsnormLayout(cols);
  ctx.dispatch({
    key: `rmsnorm:${wg}:${lanes}`,
    code: () => specialize(source, { WG: wg, LANES: lanes }),
    tensors: [x, weight, out],
    uniforms: [{ u32: rows }, { u32: cols }, { f32: eps }],
    workgroups: grid(Math.ceil(rows / (wg / lanes))),
  });
  return out;
}
