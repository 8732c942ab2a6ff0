/**
 * Shapes shared by the SAE studio's CPU math core (METHODS.md "Sparse autoencoders"). Parameters
 * use the SAELens layout, row-major: `W_enc` is [d_in, d_sae] (so the encoder is x·W_enc) and
 * `W_dec` is [d_sae, d_in] (row i is latent i's decoder direction), which makes export a copy and
 * lets the encoder matmul and the sparse decoder both walk contiguous rows.
 */

/**
 * The activation function: ReLU + weighted L1, TopK (+ AuxK), JumpReLU (+ L0 via STE), or
 * BatchTopK (+ AuxK; training only: batch-wide selection, converted to a JumpReLU with one global
 * threshold for inference, batch-topk.ts).
 */
export type SaeKind = 'relu' | 'topk' | 'jumprelu' | 'batchtopk';

export const SAE_KINDS: readonly SaeKind[] = ['relu', 'topk', 'jumprelu', 'batchtopk'];

/** TopK and BatchTopK: k latents per token (BatchTopK: on average over the batch), AuxK. */
export function isTopKLike(kind: SaeKind): kind is 'topk' | 'batchtopk' {
  return kind === 'topk' || kind === 'batchtopk';
}

/** What an SAE is and how it is trained. Optional fields fall back to `DEFAULTS` below. */
export interface SaeConfig {
  kind: SaeKind;
  /** Width of the hooked activation. */
  dIn: number;
  /** Number of latents. */
  dSae: number;
  /** TopK: latents kept per token; BatchTopK: k·n kept across a batch of n rows. */
  k?: number;
  /** ReLU: λ of the decoder-norm-weighted L1; JumpReLU: λ of the L0 penalty. */
  l1Coefficient?: number;
  /** TopK: latents used by the AuxK loss (default ⌊d_in / 2⌋, SAELens' heuristic). */
  auxK?: number;
  /** TopK: α of the AuxK loss (default 1/32, the OpenAI paper's value). */
  auxKCoefficient?: number;
  /** A latent is dead once it has not fired for more than this many tokens (default 10,000). */
  deadAfterTokens?: number;
  /** JumpReLU: width ε of the rectangle kernel of the straight-through estimator (default 0.001). */
  bandwidth?: number;
  /** JumpReLU: θ at initialisation (default 0.001, as in SAELens). */
  initialThreshold?: number;
  /** BatchTopK: rate of the running threshold estimate (default 0.01, SAELens' topk_threshold_lr). */
  thresholdLr?: number;
  /** The hook the SAE reads, e.g. `blocks.3.hook_resid_post`; checked on import. */
  hookName: string;
  /** Keep decoder rows at unit norm (gradient projection + renormalisation each step). */
  normalizeDecoder: boolean;
}

/** Trainable tensors, float32, row-major. */
export interface SaeParams {
  /** [dIn, dSae] */
  wEnc: Float32Array;
  /** [dSae] */
  bEnc: Float32Array;
  /** [dSae, dIn] */
  wDec: Float32Array;
  /** [dIn] */
  bDec: Float32Array;
  /** JumpReLU only, [dSae]: log θ, so θ = exp(logThreshold) stays positive under Adam. */
  logThreshold?: Float32Array;
}

/** Gradients, one per parameter tensor, same shapes. */
export type SaeGrads = SaeParams;

/** Names of the parameter tensors, in a fixed order (Adam and tests iterate in this order). */
export type SaeParamName = keyof SaeParams;
export const SAE_PARAM_NAMES: readonly SaeParamName[] = ['wEnc', 'bEnc', 'wDec', 'bDec', 'logThreshold'];

/** Resolved training hyper-parameters (every optional field filled in). */
export type ResolvedSaeConfig = Required<SaeConfig>;

export const SAE_DEFAULTS = {
  l1Coefficient: 5,
  auxKCoefficient: 1 / 32,
  deadAfterTokens: 10_000,
  bandwidth: 0.001,
  initialThreshold: 0.001,
  thresholdLr: 0.01,
} as const;

/**
 * Check a config and fill in defaults; unknown kinds and impossible sizes fail loudly.
 *
 * @example
 * resolveConfig({ kind: 'topk', dIn: 64, dSae: 512, k: 8, hookName: 'blocks.1.hook_resid_post', normalizeDecoder: true }).auxK; // 32
 */
export function resolveConfig(cfg: SaeConfig): ResolvedSaeConfig {
  if (!SAE_KINDS.includes(cfg.kind)) throw new Error(`invalid SAE kind: ${String(cfg.kind)}`);
  const posInt = (name: string, v: number) => {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new Error(`invalid SAE ${name}: ${v} (expected an integer ≥ 1)`);
  };
  posInt('dIn', cfg.dIn);
  posInt('dSae', cfg.dSae);
  const k = cfg.k ?? 0;
  if (isTopKLike(cfg.kind)) {
    if (cfg.k === undefined) throw new Error(`a ${cfg.kind === 'topk' ? 'TopK' : 'BatchTopK'} SAE needs k`);
    posInt('k', k);
    if (k > cfg.dSae) throw new Error(`invalid SAE k: ${k} is more than dSae ${cfg.dSae}`);
  }
  const auxK = cfg.auxK ?? Math.max(1, Math.floor(cfg.dIn / 2));
  posInt('auxK', auxK);
  const nonNeg = (name: string, v: number) => {
    if (!Number.isFinite(v) || v < 0)
      throw new Error(`invalid SAE ${name}: ${v} (expected a finite number ≥ 0)`);
  };
  const out: ResolvedSaeConfig = {
    kind: cfg.kind,
    dIn: cfg.dIn,
    dSae: cfg.dSae,
    k,
    l1Coefficient: cfg.l1Coefficient ?? SAE_DEFAULTS.l1Coefficient,
    auxK: Math.min(auxK, cfg.dSae),
    auxKCoefficient: cfg.auxKCoefficient ?? SAE_DEFAULTS.auxKCoefficient,
    deadAfterTokens: cfg.deadAfterTokens ?? SAE_DEFAULTS.deadAfterTokens,
    bandwidth: cfg.bandwidth ?? SAE_DEFAULTS.bandwidth,
    initialThreshold: cfg.initialThreshold ?? SAE_DEFAULTS.initialThreshold,
    thresholdLr: cfg.thresholdLr ?? SAE_DEFAULTS.thresholdLr,
    hookName: cfg.hookName,
    normalizeDecoder: cfg.normalizeDecoder,
  };
  nonNeg('l1Coefficient', out.l1Coefficient);
  nonNeg('auxKCoefficient', out.auxKCoefficient);
  nonNeg('deadAfterTokens', out.deadAfterTokens);
  if (!(out.thresholdLr > 0 && out.thresholdLr <= 1)) {
    throw new Error(`invalid SAE thresholdLr: ${out.thresholdLr} (expected in (0, 1])`);
  }
  if (!(out.bandwidth > 0)) throw new Error(`invalid SAE bandwidth: ${out.bandwidth} (expected > 0)`);
  if (!(out.initialThreshold > 0)) {
    throw new Error(`invalid SAE initialThreshold: ${out.initialThreshold} (expected > 0)`);
  }
  return out;
}

/** Number of rows in a row-major [n, width] batch, or an error naming what is wrong. */
export function batchRows(x: Float32Array, width: number, what = 'batch'): number {
  const n = x.length / width;
  if (!Number.isInteger(n)) {
    throw new Error(`${what} has ${x.length} values, not a multiple of its row width ${width}`);
  }
  return n;
}

/** Expected length of each parameter tensor. */
export function paramSizes(cfg: Pick<SaeConfig, 'dIn' | 'dSae' | 'kind'>): Record<SaeParamName, number> {
  const { dIn, dSae } = cfg;
  return {
    wEnc: dIn * dSae,
    bEnc: dSae,
    wDec: dSae * dIn,
    bDec: dIn,
    logThreshold: cfg.kind === 'jumprelu' ? dSae : 0,
  };
}

/** Deep copy (used by the trainer and tests to snapshot parameters). */
export function cloneParams(p: SaeParams): SaeParams {
  const out: SaeParams = {
    wEnc: p.wEnc.slice(),
    bEnc: p.bEnc.slice(),
    wDec: p.wDec.slice(),
    bDec: p.bDec.slice(),
  };
  if (p.logThreshold) out.logThreshold = p.logThreshold.slice();
  return out;
}
