import type { SaeBackwardOptions, SaeBackwardResult } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { checkSaeBackward } from './sae-backward.cpu';
import { specialize } from './wgsl';
import source from './sae-backward.wgsl?raw';

const KINDS = { relu: 0, topk: 1, jumprelu: 2 } as const;

/**
 * WebGPU dispatcher of `saeBackward`: one thread per latent column; the per-latent results share
 * one buffer (8 storage bindings is WebGPU's default limit) and are copied apart afterwards.
 */
export function saeBackwardGpu(
  ctx: GpuContext,
  pre: Tensor<'f32'>,
  latents: Tensor<'f32'>,
  gf: Tensor<'f32'>,
  o: SaeBackwardOptions,
): SaeBackwardResult {
  const [n, dSae] = checkSaeBackward(pre, latents, gf, o);
  const kind = KINDS[o.kind];
  const side = o.kind === 'relu' ? o.wDec! : o.kind === 'jumprelu' ? o.logThreshold! : pre;
  const packed = ctx.createTensor([5 * dSae], 'f32');
  const dPre = ctx.createTensor([n, dSae], 'f32');
  ctx.dispatch({
    key: `saeBackward:${kind}`,
    code: () => specialize(source, { KIND: kind }),
    tensors: [pre, latents, gf, side, o.aux?.latents ?? pre, o.aux?.gf ?? pre, dPre, packed],
    uniforms: [
      { u32: n },
      { u32: dSae },
      { u32: o.kind === 'relu' ? o.wDec!.shape[1]! : 0 },
      { u32: o.aux ? 1 : 0 },
      { f32: o.l1Coefficient ?? 0 },
      { f32: o.bandwidth ?? 1 },
    ],
    workgroups: grid(Math.ceil(dSae / 64)),
  });
  const part = (offset: number, shape: number[]) => {
    const t = ctx.createTensor(shape, 'f32');
    ctx.copy(packed, offset * 4 * dSae, t, 0, t.size * 4);
    return t;
  };
  const out: SaeBackwardResult = { dPre, dbEnc: part(0, [1, dSae]), latentStats: part(2, [dSae, 3]) };
  if (o.kind === 'relu') out.decoderRowScale = part(1, [dSae]);
  if (o.kind === 'jumprelu') out.dLogThreshold = part(1, [dSae]);
  ctx.release(packed);
  return out;
}
