/**
 * SAE forward pass on a batch [n, dIn]: encode pre = (x − b_dec)·W_enc + b_enc, apply the kind's
 * activation, decode x̂ = f·W_dec + b_dec. Latents come back dense [n, dSae] (what the metrics and
 * the UI index), and the pre-activations are kept because the backward pass and AuxK need them.
 *
 * Activations:
 * - relu: f = max(pre, 0).
 * - topk: the k largest *pre-activations* are kept, then ReLU (OpenAI's TopK paper: TopK before
 *   ReLU, so a row can have fewer than k non-zeros when fewer than k pre-activations are positive).
 * - jumprelu: f = pre·H(pre − θ) with θ = exp(logThreshold) > 0 (so also ≥ 0, as SAELens' ReLU
 *   then mask).
 * - batchtopk (training only): the k·n largest positive pre-activations of the whole batch
 *   (batch-topk.ts), so the result depends on the batch; inference uses the JumpReLU conversion.
 */
import { batchTopK } from './batch-topk';
import { topKIndices } from './topk';
import { batchRows, type SaeConfig, type SaeParams } from './types';

/** What `forward` computes; all row-major float32. */
export interface SaeForward {
  /** Rows in the batch. */
  n: number;
  /** [n, dSae] pre-activations. */
  pre: Float32Array;
  /** [n, dSae] latent activations f (zeros where inactive). */
  latents: Float32Array;
  /** [n, dIn] reconstruction x̂. */
  reconstruction: Float32Array;
}

type ForwardCfg = Pick<SaeConfig, 'kind' | 'dIn' | 'dSae' | 'k'>;

/** Reuse `old` when it has the size wanted (the trainer calls this every step). */
function buffer(old: Float32Array | undefined, size: number): Float32Array {
  return old && old.length === size ? old : new Float32Array(size);
}

/**
 * Pre-activations and latents of a batch. Pass `reuse` to write into its buffers.
 *
 * @example
 * const { latents } = encode(params, cfg, batch);
 */
export function encode(
  params: SaeParams,
  cfg: ForwardCfg,
  x: Float32Array,
  reuse?: Pick<SaeForward, 'pre' | 'latents'>,
): { n: number; pre: Float32Array; latents: Float32Array } {
  const { dIn, dSae } = cfg;
  const n = batchRows(x, dIn);
  const { wEnc, bEnc, bDec } = params;
  const pre = buffer(reuse?.pre, n * dSae);
  const latents = buffer(reuse?.latents, n * dSae);

  // (x − b_dec)·W_enc + b_enc = x·W_enc + (b_enc − b_dec·W_enc): fold the bias term once per batch.
  const base = new Float64Array(dSae);
  for (let j = 0; j < dSae; j++) base[j] = bEnc[j]!;
  for (let d = 0; d < dIn; d++) {
    const b = bDec[d]!;
    if (b === 0) continue;
    const w = d * dSae;
    for (let j = 0; j < dSae; j++) base[j]! -= b * wEnc[w + j]!;
  }
  const acc = new Float64Array(dSae);
  for (let i = 0; i < n; i++) {
    acc.set(base);
    const xr = i * dIn;
    for (let d = 0; d < dIn; d++) {
      const xv = x[xr + d]!;
      if (xv === 0) continue;
      const w = d * dSae;
      for (let j = 0; j < dSae; j++) acc[j]! += xv * wEnc[w + j]!;
    }
    pre.set(acc, i * dSae);
  }
  activate(params, cfg, n, pre, latents);
  return { n, pre, latents };
}

/** latents = activation(pre), row by row. */
function activate(params: SaeParams, cfg: ForwardCfg, n: number, pre: Float32Array, out: Float32Array): void {
  const { dSae, kind } = cfg;
  const size = n * dSae;
  if (kind === 'relu') {
    for (let t = 0; t < size; t++) {
      const v = pre[t]!;
      out[t] = v > 0 ? v : 0;
    }
    return;
  }
  if (kind === 'jumprelu') {
    const theta = thresholds(params, dSae);
    for (let i = 0; i < n; i++) {
      const r = i * dSae;
      for (let j = 0; j < dSae; j++) {
        const v = pre[r + j]!;
        out[r + j] = v > theta[j]! ? v : 0;
      }
    }
    return;
  }
  if (kind === 'batchtopk') {
    batchTopK(pre, n, dSae, cfg.k ?? 0, out);
    return;
  }
  if (kind !== 'topk') throw new Error(`invalid SAE kind: ${String(kind)}`);
  const k = cfg.k ?? 0;
  if (!(k >= 1 && k <= dSae)) throw new Error(`invalid SAE k: ${k} (dSae ${dSae})`);
  out.fill(0);
  const idx = new Int32Array(k);
  const scratch = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const r = i * dSae;
    const found = topKIndices(pre, r, dSae, k, idx, undefined, scratch);
    for (let s = 0; s < found; s++) {
      const v = pre[r + idx[s]!]!;
      if (v > 0) out[r + idx[s]!] = v;
    }
  }
}

/** θ = exp(logThreshold), or an error if a JumpReLU SAE has no thresholds. */
export function thresholds(params: SaeParams, dSae: number): Float64Array {
  const lt = params.logThreshold;
  if (!lt || lt.length !== dSae) throw new Error(`a JumpReLU SAE needs logThreshold of length ${dSae}`);
  const theta = new Float64Array(dSae);
  for (let j = 0; j < dSae; j++) theta[j] = Math.exp(lt[j]!);
  return theta;
}

/**
 * x̂ = f·W_dec + b_dec for dense latents [n, dSae]; zero latents are skipped, so the cost is
 * proportional to the number of active latents.
 */
export function decode(
  params: SaeParams,
  cfg: Pick<SaeConfig, 'dIn' | 'dSae'>,
  latents: Float32Array,
  reuse?: Float32Array,
): Float32Array {
  const { dIn, dSae } = cfg;
  const n = batchRows(latents, dSae, 'latents');
  const { wDec, bDec } = params;
  const out = buffer(reuse, n * dIn);
  const acc = new Float64Array(dIn);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dIn; d++) acc[d] = bDec[d]!;
    const r = i * dSae;
    for (let j = 0; j < dSae; j++) {
      const f = latents[r + j]!;
      if (f === 0) continue;
      const w = j * dIn;
      for (let d = 0; d < dIn; d++) acc[d]! += f * wDec[w + d]!;
    }
    out.set(acc, i * dIn);
  }
  return out;
}

/**
 * Encode then decode.
 *
 * @example
 * const { latents, reconstruction } = forward(params, cfg, batch);
 */
export function forward(params: SaeParams, cfg: ForwardCfg, x: Float32Array, reuse?: SaeForward): SaeForward {
  const { n, pre, latents } = encode(params, cfg, x, reuse);
  const reconstruction = decode(params, cfg, latents, reuse?.reconstruction);
  return { n, pre, latents, reconstruction };
}
