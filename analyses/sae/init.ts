/**
 * SAE initialisation. Decoder rows are random unit directions and the encoder starts as the
 * decoder's transpose (OpenAI's TopK paper, SAELens' default): at step 0 every latent reads the
 * direction it writes, so the initial reconstruction is already a projection and few latents start
 * dead. b_enc = 0; b_dec is set from data with `initDecoderBias` (the paper's geometric median).
 */
import { mulberry32 } from './prng';
import { batchRows, resolveConfig, type SaeConfig, type SaeParams } from './types';

/**
 * Fresh parameters from a seed.
 *
 * @example
 * const params = initSaeParams({ kind: 'topk', dIn: 64, dSae: 512, k: 8, hookName: 'h', normalizeDecoder: true }, 1);
 */
export function initSaeParams(cfg: SaeConfig, seed: number): SaeParams {
  const c = resolveConfig(cfg);
  const { dIn, dSae } = c;
  const rng = mulberry32(seed);
  const wDec = new Float32Array(dSae * dIn);
  for (let j = 0; j < dSae; j++) {
    const row = j * dIn;
    let norm2 = 0;
    for (let d = 0; d < dIn; d++) {
      const v = rng.normal();
      wDec[row + d] = v;
      norm2 += v * v;
    }
    const inv = norm2 > 0 ? 1 / Math.sqrt(norm2) : 0;
    for (let d = 0; d < dIn; d++) wDec[row + d]! *= inv;
  }
  const wEnc = new Float32Array(dIn * dSae);
  for (let j = 0; j < dSae; j++) for (let d = 0; d < dIn; d++) wEnc[d * dSae + j] = wDec[j * dIn + d]!;
  const params: SaeParams = { wEnc, bEnc: new Float32Array(dSae), wDec, bDec: new Float32Array(dIn) };
  if (c.kind === 'jumprelu') params.logThreshold = new Float32Array(dSae).fill(Math.log(c.initialThreshold));
  return params;
}

/**
 * A decoder bias from data [n, dIn]: the per-dimension mean, or the geometric median (the point
 * minimising the summed Euclidean distance, robust to outlier tokens such as BOS) by Weiszfeld's
 * iteration started at the mean.
 *
 * @example
 * params.bDec.set(initDecoderBias(batch, 64, 'geometric-median'));
 */
export function initDecoderBias(
  data: Float32Array,
  dIn: number,
  method: 'mean' | 'geometric-median',
  opts: { maxIterations?: number; tolerance?: number } = {},
): Float32Array {
  const n = batchRows(data, dIn, 'initDecoderBias data');
  if (n === 0) throw new Error('initDecoderBias: no rows');
  if (method !== 'mean' && method !== 'geometric-median') {
    throw new Error(`invalid decoder-bias method: ${String(method)}`);
  }
  const mean = new Float64Array(dIn);
  for (let i = 0; i < n; i++) for (let d = 0; d < dIn; d++) mean[d]! += data[i * dIn + d]!;
  for (let d = 0; d < dIn; d++) mean[d]! /= n;
  if (method === 'mean') return Float32Array.from(mean);

  const maxIterations = opts.maxIterations ?? 100;
  const tolerance = opts.tolerance ?? 1e-6;
  let y = mean;
  const next = new Float64Array(dIn);
  for (let it = 0; it < maxIterations; it++) {
    next.fill(0);
    let wSum = 0;
    for (let i = 0; i < n; i++) {
      const row = i * dIn;
      let dist2 = 0;
      for (let d = 0; d < dIn; d++) {
        const diff = data[row + d]! - y[d]!;
        dist2 += diff * diff;
      }
      // Weiszfeld weights 1/‖x_i − y‖; a floor keeps a row sitting on y from dividing by zero.
      const w = 1 / Math.max(Math.sqrt(dist2), 1e-12);
      wSum += w;
      for (let d = 0; d < dIn; d++) next[d]! += w * data[row + d]!;
    }
    let move2 = 0;
    let scale2 = 0;
    for (let d = 0; d < dIn; d++) {
      const v = next[d]! / wSum;
      move2 += (v - y[d]!) ** 2;
      scale2 += v * v;
      next[d] = v;
    }
    y = Float64Array.from(next);
    if (Math.sqrt(move2) <= tolerance * Math.max(1, Math.sqrt(scale2))) break;
  }
  return Float32Array.from(y);
}
