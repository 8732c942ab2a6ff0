import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { specialize } from './wgsl';
import source from './softmax.wgsl?raw';

/**
 * Threads per workgroup, and threads sharing one row (1, 8 or 64), so that each thread walks at
 * most ~512 columns. Rows of up to 512 columns get a thread each and no barrier at all: on
 * SwiftShader a workgroup barrier costs ~30 µs per 64-thread workgroup, so one workgroup per
 * 64-wide row ran 15× slower than a thread per row (16 ms vs 1.1 ms for [512, 64]); a lone
 * 32000-wide row (logits at T = 1) is 3× faster with 64 lanes than with one (1.0 ms vs 2.9 ms).
 */
export function softmaxLayout(cols: number): { wg: number; lanes: number } {
  return { wg: 64, lanes: cols <= 512 ? 1 : cols <= 4096 ? 8 : 64 };
}

/** WebGPU dispatcher of `softmax` over the last dim; `layout` overrides the choice (tests, benchmarks). */
export function softmaxGpu(
  ctx: GpuContext,
  x: Tensor<'f32'>,
  layout = softmaxLayout(x.shape[x.shape.length - 1] ?? 1),
): Tensor<'f32'> {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const rows = cols === 0 ? 0 : x.size / cols;
  assertDType(gpu(x), 'f32', 'softmax');
  const out = ctx.createTensor(x.shape, 'f32');
  if (rows === 0) return out;
  const { wg, lanes } = layout;
  ctx.dispatch({
    key: `softmax:${wg}:${lanes}`,
    code: () => specialize(source, { WG: wg, LANES: lanes }),
    tensors: [x, out],
    uniforms: [{ u32: rows }, { u32: cols }],
    workgroups: grid(Math.ceil(rows / (wg / lanes))),
  });
  return out;
}
