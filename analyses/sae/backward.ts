/**
 * Analytic gradients of `saeLoss` with respect to every parameter tensor. Derivation, with
 * g_i = ∂L/∂x̂_i = (2/n)(x̂_i − x_i) and xc_i = x_i − b_dec:
 *
 * - ∂L/∂f_ij = g_i·W_dec[j] (+ λ‖W_dec[j]‖/n for relu's weighted L1).
 * - ∂L/∂W_dec[j] = Σ_i f_ij·g_i (+ (λ/n)(Σ_i f_ij)·W_dec[j]/‖W_dec[j]‖ for relu).
 * - ∂L/∂pre_ij = ∂L/∂f_ij on active latents (ReLU and JumpReLU both pass the identity there;
 *   TopK's selection is piecewise constant), 0 elsewhere; plus the AuxK term for dead latents.
 * - ∂L/∂b_enc = Σ_i ∂L/∂pre_i; ∂L/∂W_enc[:, j] = Σ_i xc_i·∂L/∂pre_ij.
 * - ∂L/∂b_dec = Σ_i g_i − W_enc·(∂L/∂b_enc), since pre depends on −b_dec through xc.
 *
 * JumpReLU's threshold gets the straight-through pseudo-derivatives of Rajamanoharan et al. 2024
 * with the rectangle kernel K(u) = 1 for |u| < ½: ∂f/∂θ := −(θ/ε)·K((pre − θ)/ε) for the jump in the
 * reconstruction and ∂H/∂θ := −(1/ε)·K((pre − θ)/ε) for the L0 count; the pre-activation gets no
 * STE term (∂H/∂pre := 0, as in SAELens). θ = exp(logThreshold) adds the chain factor θ.
 *
 * Sums run over active (and, for JumpReLU, in-kernel) latents only, so the cost after the dense
 * encoder is proportional to L0 · d_in.
 */
import type { SaeForward } from './forward';
import { thresholds } from './forward';
import { decoderNorms, type SaeLossCache } from './loss';
import type { ResolvedSaeConfig, SaeGrads, SaeParams } from './types';

/**
 * Gradients of the loss whose terms and cache `saeLoss` returned for the same forward pass.
 *
 * @example
 * const fwd = forward(params, cfg, x);
 * const { cache } = saeLoss(params, cfg, x, fwd, dead);
 * const grads = saeBackward(params, cfg, x, fwd, cache);
 */
export function saeBackward(
  params: SaeParams,
  cfg: ResolvedSaeConfig,
  x: Float32Array,
  fwd: SaeForward,
  cache: SaeLossCache,
): SaeGrads {
  const { dIn, dSae, kind } = cfg;
  const { n, pre, latents } = fwd;
  const { wDec, wEnc, bDec } = params;
  const lambda = cfg.l1Coefficient;

  const gWdec = new Float64Array(dSae * dIn);
  const gWencT = new Float64Array(dSae * dIn); // [dSae, dIn], transposed at the end
  const gbEnc = new Float64Array(dSae);
  const gbDec = new Float64Array(dIn);
  const gTheta = kind === 'jumprelu' ? new Float64Array(dSae) : undefined;
  const theta = kind === 'jumprelu' ? thresholds(params, dSae) : undefined;
  const norms = kind === 'relu' ? decoderNorms(wDec, dSae, dIn) : undefined;
  const fSum = kind === 'relu' ? new Float64Array(dSae) : undefined;
  const eps = cfg.bandwidth;
  const halfEps = eps / 2;
  const l0Step = -lambda / (n * eps);

  const g = new Float64Array(dIn);
  const ga = new Float64Array(dIn);
  const xc = new Float64Array(dIn);
  const gPre = new Float64Array(dSae);
  const mark = new Uint8Array(dSae);
  const touched = new Int32Array(dSae);
  const aux = cache.aux;
  const auxScale = aux ? (2 * cfg.auxKCoefficient) / aux.denom : 0;

  for (let i = 0; i < n; i++) {
    const xr = i * dIn;
    const r = i * dSae;
    for (let d = 0; d < dIn; d++) {
      g[d] = (2 / n) * cache.err[xr + d]!;
      gbDec[d]! += g[d]!;
      xc[d] = x[xr + d]! - bDec[d]!;
    }
    let nTouched = 0;
    for (let j = 0; j < dSae; j++) {
      const f = latents[r + j]!;
      let inKernel = false;
      if (theta) inKernel = Math.abs(pre[r + j]! - theta[j]!) < halfEps;
      if (f === 0 && !inKernel) continue;
      const w = j * dIn;
      let gf = 0;
      for (let d = 0; d < dIn; d++) gf += g[d]! * wDec[w + d]!;
      if (inKernel) gTheta![j]! += -(theta![j]! / eps) * gf + l0Step;
      if (f === 0) continue;
      if (norms) {
        gf += (lambda / n) * norms[j]!;
        fSum![j]! += f;
      }
      for (let d = 0; d < dIn; d++) gWdec[w + d]! += f * g[d]!;
      gPre[j] = gf;
      mark[j] = 1;
      touched[nTouched++] = j;
    }
    if (aux) {
      for (let d = 0; d < dIn; d++) ga[d] = auxScale * aux.diff[xr + d]!;
      const base = i * cfg.auxK;
      for (let s = 0; s < aux.count[i]!; s++) {
        const j = aux.idx[base + s]!;
        const a = pre[r + j]!;
        if (!(a > 0)) continue;
        const w = j * dIn;
        let gaj = 0;
        for (let d = 0; d < dIn; d++) {
          gaj += ga[d]! * wDec[w + d]!;
          gWdec[w + d]! += a * ga[d]!;
        }
        if (!mark[j]) {
          mark[j] = 1;
          gPre[j] = 0;
          touched[nTouched++] = j;
        }
        gPre[j]! += gaj;
      }
    }
    for (let s = 0; s < nTouched; s++) {
      const j = touched[s]!;
      const gp = gPre[j]!;
      mark[j] = 0;
      gbEnc[j]! += gp;
      const w = j * dIn;
      for (let d = 0; d < dIn; d++) gWencT[w + d]! += gp * xc[d]!;
    }
  }

  if (norms) {
    for (let j = 0; j < dSae; j++) {
      const nj = norms[j]!;
      if (fSum![j] === 0 || nj === 0) continue;
      const c = ((lambda / n) * fSum![j]!) / nj;
      const w = j * dIn;
      for (let d = 0; d < dIn; d++) gWdec[w + d]! += c * wDec[w + d]!;
    }
  }
  for (let d = 0; d < dIn; d++) {
    let s = 0;
    const w = d * dSae;
    for (let j = 0; j < dSae; j++) s += wEnc[w + j]! * gbEnc[j]!;
    gbDec[d]! -= s;
  }
  const gWenc = new Float32Array(dIn * dSae);
  for (let j = 0; j < dSae; j++) for (let d = 0; d < dIn; d++) gWenc[d * dSae + j] = gWencT[j * dIn + d]!;
  const grads: SaeGrads = {
    wEnc: gWenc,
    bEnc: Float32Array.from(gbEnc),
    wDec: Float32Array.from(gWdec),
    bDec: Float32Array.from(gbDec),
  };
  if (gTheta) {
    const lt = new Float32Array(dSae);
    for (let j = 0; j < dSae; j++) lt[j] = theta![j]! * gTheta[j]!;
    grads.logThreshold = lt;
  }
  return grads;
}
