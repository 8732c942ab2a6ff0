/**
 * SAE training losses on one batch. Normalisation (SAELens' reading): the reconstruction term is
 * the squared error summed over d_in and averaged over the batch, MSE = (1/n)·Σ_i ‖x_i − x̂_i‖²,
 * so it is in the activation's own units (not divided by d_in or by ‖x‖²); penalties are averaged
 * over the batch the same way.
 *
 * - relu: L = MSE + λ·(1/n)·Σ_i Σ_j f_ij·‖W_dec[j]‖ (weighting by the decoder norm stops the
 *   optimiser from shrinking f while growing W_dec when the decoder is not normalised).
 * - topk and batchtopk: L = MSE + α·L_aux. AuxK (OpenAI's TopK paper): for each row take the k_aux largest
 *   pre-activations among latents *dead before this step*, ReLU them, decode without b_dec to ê,
 *   and fit the main residual e = x − x̂ (held constant). The paper normalises this MSE; our reading
 *   uses the batch ratio L_aux = Σ_i ‖e_i − ê_i‖² / Σ_i ‖e_i‖², which is scale-free like the paper's
 *   (OpenAI's reference code divides row by row, which blows up on a row with a tiny residual).
 *   With no dead latents, or a zero residual, L_aux = 0.
 * - jumprelu: L = MSE + λ·L0, L0 = (1/n)·Σ_i #{j: f_ij ≠ 0} (Rajamanoharan et al. 2024); its
 *   gradient exists only through the straight-through estimator (backward.ts).
 */
import type { SaeForward } from './forward';
import { topKIndices } from './topk';
import type { ResolvedSaeConfig, SaeParams } from './types';

/** Scalar loss terms of one batch. */
export interface SaeLossTerms {
  /** The total that the gradients differentiate. */
  loss: number;
  /** (1/n)·Σ_i ‖x_i − x̂_i‖². */
  mse: number;
  /** The un-scaled penalty: weighted L1 (relu), L0 (jumprelu), 0 (topk, batchtopk). */
  sparsity: number;
  /** TopK: the normalised AuxK loss before α (0 with no dead latents). */
  auxLoss?: number;
  /** Mean non-zero latents per row. */
  l0: number;
}

/** AuxK intermediates the backward pass reuses. */
export interface AuxKCache {
  /** [n, auxK] chosen dead latents per row (first `count[i]` valid). */
  idx: Int32Array;
  /** [n] how many dead latents row i could choose (≤ auxK). */
  count: Int32Array;
  /** [n, dIn] ê − e. */
  diff: Float32Array;
  /** Σ_i ‖e_i‖², the constant normaliser. */
  denom: number;
}

/** What `saeLoss` hands to `saeBackward`. */
export interface SaeLossCache {
  /** [n, dIn] x̂ − x. */
  err: Float32Array;
  aux?: AuxKCache;
}

/** ‖W_dec[j]‖ for every latent. */
export function decoderNorms(wDec: Float32Array, dSae: number, dIn: number): Float64Array {
  const out = new Float64Array(dSae);
  for (let j = 0; j < dSae; j++) {
    let s = 0;
    const w = j * dIn;
    for (let d = 0; d < dIn; d++) s += wDec[w + d]! * wDec[w + d]!;
    out[j] = Math.sqrt(s);
  }
  return out;
}

/**
 * Loss terms of a forward pass. `deadMask[j] = 1` marks latent j dead (TopK AuxK only).
 *
 * @example
 * const { terms, cache } = saeLoss(params, resolveConfig(cfg), batch, forward(params, cfg, batch));
 */
export function saeLoss(
  params: SaeParams,
  cfg: ResolvedSaeConfig,
  x: Float32Array,
  fwd: SaeForward,
  deadMask?: Uint8Array,
): { terms: SaeLossTerms; cache: SaeLossCache } {
  const { dIn, dSae, kind } = cfg;
  const { n, latents, reconstruction } = fwd;
  const err = new Float32Array(n * dIn);
  let sse = 0;
  for (let t = 0; t < n * dIn; t++) {
    const e = reconstruction[t]! - x[t]!;
    err[t] = e;
    sse += e * e;
  }
  const mse = sse / n;
  let nnz = 0;
  for (let t = 0; t < n * dSae; t++) if (latents[t] !== 0) nnz++;
  const l0 = nnz / n;

  const cache: SaeLossCache = { err };
  let sparsity = 0;
  let loss = mse;
  let auxLoss: number | undefined;
  if (kind === 'relu') {
    const norms = decoderNorms(params.wDec, dSae, dIn);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const r = i * dSae;
      for (let j = 0; j < dSae; j++) {
        const f = latents[r + j]!;
        if (f !== 0) s += f * norms[j]!;
      }
    }
    sparsity = s / n;
    loss += cfg.l1Coefficient * sparsity;
  } else if (kind === 'jumprelu') {
    sparsity = l0;
    loss += cfg.l1Coefficient * l0;
  } else {
    auxLoss = 0;
    if (deadMask && cfg.auxKCoefficient > 0) {
      const aux = auxKLoss(params, cfg, fwd, err, deadMask);
      if (aux) {
        cache.aux = aux.cache;
        auxLoss = aux.value;
        loss += cfg.auxKCoefficient * auxLoss;
      }
    }
  }
  const terms: SaeLossTerms = { loss, mse, sparsity, l0 };
  if (auxLoss !== undefined) terms.auxLoss = auxLoss;
  return { terms, cache };
}

/** The AuxK term, or undefined when no latent is dead or the residual is zero. */
function auxKLoss(
  params: SaeParams,
  cfg: ResolvedSaeConfig,
  fwd: SaeForward,
  err: Float32Array,
  deadMask: Uint8Array,
): { value: number; cache: AuxKCache } | undefined {
  const { dIn, dSae, auxK } = cfg;
  const { n, pre } = fwd;
  if (deadMask.length !== dSae) throw new Error(`deadMask has ${deadMask.length} entries, expected ${dSae}`);
  let nDead = 0;
  for (let j = 0; j < dSae; j++) if (deadMask[j]) nDead++;
  if (nDead === 0) return undefined;
  let denom = 0;
  for (let t = 0; t < n * dIn; t++) denom += err[t]! * err[t]!;
  if (!(denom > 0)) return undefined;

  const idx = new Int32Array(n * auxK);
  const count = new Int32Array(n);
  const diff = new Float32Array(n * dIn);
  const rowIdx = new Int32Array(auxK);
  const scratch = new Float64Array(auxK);
  const acc = new Float64Array(dIn);
  const { wDec } = params;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const found = topKIndices(pre, i * dSae, dSae, auxK, rowIdx, deadMask, scratch);
    count[i] = found;
    idx.set(rowIdx.subarray(0, found), i * auxK);
    // diff = ê − e, and e = x − x̂ = −err.
    for (let d = 0; d < dIn; d++) acc[d] = err[i * dIn + d]!;
    for (let s2 = 0; s2 < found; s2++) {
      const j = rowIdx[s2]!;
      const a = pre[i * dSae + j]!;
      if (!(a > 0)) continue;
      const w = j * dIn;
      for (let d = 0; d < dIn; d++) acc[d]! += a * wDec[w + d]!;
    }
    for (let d = 0; d < dIn; d++) {
      diff[i * dIn + d] = acc[d]!;
      s += acc[d]! * acc[d]!;
    }
  }
  return { value: s / denom, cache: { idx, count, diff, denom } };
}
