import type { SaeEncodeOptions, SaeEncodeResult } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { GpuTensor, gpu } from './gpu-tensor';
import { matmulGpu } from './matmul';
import { checkAux, saeEncodeDims } from './sae-encode.cpu';
import { topkGpu } from './topk';
import { specialize } from './wgsl';
import source from './sae-encode.wgsl?raw';

const KINDS = { relu: 0, topk: 1, jumprelu: 2 } as const;

/** A second shape over the same buffer (never disposed: the owner releases the buffer). */
export function gpuView(t: Tensor<'f32'>, shape: readonly number[]): Tensor<'f32'> {
  return new GpuTensor(gpu(t).buffer, shape, 'f32');
}

function stage(
  ctx: GpuContext,
  mode: 'BIAS' | 'MASK' | 'SCATTER',
  kind: number,
  tensors: Tensor[],
  threads: number,
  cols: number,
  k = 0,
): void {
  ctx.dispatch({
    key: `saeEncode:${mode}:${kind}`,
    code: () =>
      specialize(
        source,
        { KIND: kind },
        { BIAS: mode === 'BIAS', MASK: mode === 'MASK', SCATTER: mode === 'SCATTER' },
      ),
    tensors,
    uniforms: [{ u32: threads }, { u32: cols }, { u32: k }, { f32: -Infinity }],
    workgroups: grid(Math.ceil(threads / 256)),
  });
}

/**
 * WebGPU dispatcher of `saeEncode`: x·W_enc and b_dec·W_enc on the matmul kernels, the bias and
 * activation elementwise, and for TopK the shared `topk` kernel plus a scatter of its choices.
 */
export function saeEncodeGpu(
  ctx: GpuContext,
  x: Tensor<'f32'>,
  wEnc: Tensor<'f32'>,
  bEnc: Tensor<'f32'>,
  bDec: Tensor<'f32'>,
  o: SaeEncodeOptions,
): SaeEncodeResult {
  const { n, dIn, dSae } = saeEncodeDims(x, wEnc, bEnc, bDec, o);
  const pre = ctx.createTensor([n, dSae], 'f32');
  const latents = ctx.createTensor([n, dSae], 'f32');
  if (n === 0) return { pre, latents };
  const xw = matmulGpu(ctx, x, wEnc, false);
  const bw = matmulGpu(ctx, gpuView(bDec, [1, dIn]), wEnc, false);
  const kind = KINDS[o.kind];
  stage(ctx, 'BIAS', kind, [xw, bw, bEnc, o.logThreshold ?? bEnc, pre, latents], n * dSae, dSae);
  ctx.release(xw);
  ctx.release(bw);
  if (o.kind === 'topk') scatterTopK(ctx, pre, latents, o.k!);
  return { pre, latents };
}

/** latents[i, j] = value for the k largest values of each row of `scores` that are > 0. */
function scatterTopK(ctx: GpuContext, scores: Tensor<'f32'>, latents: Tensor<'f32'>, k: number): void {
  const [rows, cols] = scores.shape as [number, number];
  const { values, indices } = topkGpu(ctx, scores, k);
  stage(ctx, 'SCATTER', 0, [values, indices, latents], rows * k, cols, k);
  ctx.release(values);
  ctx.release(indices);
}

/** WebGPU dispatcher of `saeAuxLatents`: dead latents masked to −inf, then TopK and scatter. */
export function saeAuxLatentsGpu(
  ctx: GpuContext,
  pre: Tensor<'f32'>,
  dead: Tensor<'i32'>,
  auxK: number,
): Tensor<'f32'> {
  const [n, dSae] = checkAux(pre, dead, auxK);
  const latents = ctx.createTensor([n, dSae], 'f32');
  if (n === 0) return latents;
  const masked = ctx.createTensor([n, dSae], 'f32');
  stage(ctx, 'MASK', 0, [pre, dead, masked, latents], n * dSae, dSae);
  scatterTopK(ctx, masked, latents, auxK);
  ctx.release(masked);
  return latents;
}
