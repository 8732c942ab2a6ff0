import type { SaeBackwardOptions, SaeBackwardResult } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { sameShape } from './shapes';

/** Columns of `SaeBackwardResult.latentStats`. */
export const SAE_LATENT_STATS = ['fired', 'nnz', 'weighted_l1'] as const;

export function checkSaeBackward(
  pre: Tensor<'f32'>,
  latents: Tensor<'f32'>,
  gf: Tensor<'f32'>,
  o: SaeBackwardOptions,
): [n: number, dSae: number] {
  if (pre.shape.length !== 2)
    throw new Error(`saeBackward: pre must be [n, dSae], got [${pre.shape.join(', ')}]`);
  sameShape(pre.shape, latents.shape, 'saeBackward latents');
  sameShape(pre.shape, gf.shape, 'saeBackward gf');
  const [n, dSae] = pre.shape as [number, number];
  if (o.kind === 'relu' && (o.wDec?.shape.length !== 2 || o.wDec.shape[0] !== dSae)) {
    throw new Error(`saeBackward: relu needs wDec [${dSae}, dIn]`);
  }
  if (o.kind === 'jumprelu' && o.logThreshold?.size !== dSae) {
    throw new Error(`saeBackward: jumprelu needs logThreshold of ${dSae} values`);
  }
  if (o.kind === 'jumprelu' && !(o.bandwidth! > 0)) throw new Error(`saeBackward: bandwidth must be > 0`);
  if (o.aux) {
    sameShape(pre.shape, o.aux.latents.shape, 'saeBackward aux.latents');
    sameShape(pre.shape, o.aux.gf.shape, 'saeBackward aux.gf');
  }
  if (!['relu', 'topk', 'jumprelu'].includes(o.kind))
    throw new Error(`saeBackward: invalid SAE kind: ${String(o.kind)}`);
  return [n, dSae];
}

/**
 * Reference of `saeBackward` (analyses/sae/backward.ts, per latent column in float64):
 * dPre = (f ≠ 0)·(gf + relu's λ‖W_dec[j]‖/n) + (aux.latents > 0)·aux.gf; dbEnc = Σ_i dPre;
 * relu: decoderRowScale = (λ/n)·Σ_i f_ij / ‖W_dec[j]‖; jumprelu: dLogThreshold = θ·Σ_i over the
 * STE window |pre − θ| < ε/2 of (−(θ/ε)·gf − λ/(nε)).
 */
export function saeBackwardCpu(
  pre: Tensor<'f32'>,
  latents: Tensor<'f32'>,
  gf: Tensor<'f32'>,
  o: SaeBackwardOptions,
): SaeBackwardResult {
  const [n, dSae] = checkSaeBackward(pre, latents, gf, o);
  const P = cpu(pre).data;
  const F = cpu(latents).data;
  const G = cpu(gf).data;
  const AL = o.aux ? cpu(o.aux.latents).data : undefined;
  const AG = o.aux ? cpu(o.aux.gf).data : undefined;
  const lambda = o.l1Coefficient ?? 0;
  const eps = o.bandwidth ?? 1;
  const dPre = new Float32Array(n * dSae);
  const dbEnc = new Float32Array(dSae);
  const stats = new Float32Array(dSae * 3);
  const extra = new Float32Array(dSae);
  const W = o.kind === 'relu' ? cpu(o.wDec!).data : undefined;
  const dIn = o.kind === 'relu' ? o.wDec!.shape[1]! : 0;
  const LT = o.kind === 'jumprelu' ? cpu(o.logThreshold!).data : undefined;
  for (let j = 0; j < dSae; j++) {
    let norm = 0;
    if (W) {
      for (let d = 0; d < dIn; d++) norm += W[j * dIn + d]! * W[j * dIn + d]!;
      norm = Math.sqrt(norm);
    }
    const theta = LT ? Math.exp(LT[j]!) : 0;
    let fired = 0;
    let nnz = 0;
    let fSum = 0;
    let gb = 0;
    let gTheta = 0;
    for (let i = 0; i < n; i++) {
      const t = i * dSae + j;
      const f = F[t]!;
      let d = 0;
      if (f !== 0) {
        d = G[t]! + (W ? (lambda / n) * norm : 0);
        fired = 1;
        nnz++;
        fSum += f;
      }
      if (LT && Math.abs(P[t]! - theta) < eps / 2) gTheta += -(theta / eps) * G[t]! - lambda / (n * eps);
      if (AL && AL[t]! > 0) d += AG![t]!;
      dPre[t] = d;
      gb += d;
    }
    dbEnc[j] = gb;
    stats[j * 3] = fired;
    stats[j * 3 + 1] = nnz;
    stats[j * 3 + 2] = fSum * norm;
    if (W) extra[j] = fSum === 0 || norm === 0 ? 0 : ((lambda / n) * fSum) / norm;
    if (LT) extra[j] = theta * gTheta;
  }
  const out: SaeBackwardResult = {
    dPre: f32(dPre, [n, dSae]),
    dbEnc: f32(dbEnc, [1, dSae]),
    latentStats: f32(stats, [dSae, 3]),
  };
  if (o.kind === 'relu') out.decoderRowScale = f32(extra, [dSae]);
  if (o.kind === 'jumprelu') out.dLogThreshold = f32(extra, [dSae]);
  return out;
}
