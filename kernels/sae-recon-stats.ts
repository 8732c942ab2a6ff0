import type { SaeReconStatsOptions, SaeReconStatsResult } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { checkReconStats } from './sae-recon-stats.cpu';
import { specialize } from './wgsl';
import source from './sae-recon-stats.wgsl?raw';

/**
 * WebGPU dispatcher of `saeReconStats`: per-row sums, one in-order total (n values, one thread:
 * cheaper than a tree on the emulated adapters and deterministic), then AuxK's gradient.
 */
export function saeReconStatsGpu(
  ctx: GpuContext,
  err: Tensor<'f32'>,
  o: SaeReconStatsOptions = {},
): SaeReconStatsResult {
  checkReconStats(err, o);
  const [rows, cols] = err.shape as [number, number];
  const aux = o.auxRecon;
  const uniforms = [{ u32: rows }, { u32: cols }, { u32: aux ? 1 : 0 }, { f32: o.auxCoefficient ?? 0 }];
  const code = (mode: 'ROWS' | 'TOTAL' | 'GRAD') => () =>
    specialize(source, {}, { ROWS: mode === 'ROWS', TOTAL: mode === 'TOTAL', GRAD: mode === 'GRAD' });
  const partial = ctx.createTensor([Math.max(rows, 1), 2], 'f32');
  const sums = ctx.createTensor([2], 'f32');
  ctx.dispatch({
    key: 'saeReconStats:rows',
    code: code('ROWS'),
    tensors: [err, aux ?? err, partial],
    uniforms,
    workgroups: grid(Math.ceil(rows / 64)),
  });
  ctx.dispatch({
    key: 'saeReconStats:total',
    code: code('TOTAL'),
    tensors: [partial, sums],
    uniforms,
    workgroups: [1],
  });
  ctx.release(partial);
  const out: SaeReconStatsResult = { sums };
  if (aux) {
    out.auxGrad = ctx.createTensor(err.shape, 'f32');
    ctx.dispatch({
      key: 'saeReconStats:grad',
      code: code('GRAD'),
      tensors: [err, aux, sums, out.auxGrad],
      uniforms,
      workgroups: grid(Math.ceil((rows * cols) / 64)),
    });
  }
  return out;
}
