/**
 * Synchronous CPU SAE trainer: the reference implementation and the CPU backend. One `step` runs
 * explicit stages, each a pure function of its inputs, so a WebGPU trainer can replace any stage
 * and be checked against this one:
 *
 *   forward → loss (dead mask from before the step) → backward → project decoder grads →
 *   Adam → renormalise decoder rows → update firing statistics (→ BatchTopK: threshold estimate).
 *
 * Randomness is only in the seeded initialisation, so the same seed and data give bit-identical
 * parameters.
 */
import { Adam, type AdamOptions } from './adam';
import { BatchTopKThreshold, smallestActive } from './batch-topk';
import { normalizeDecoderRows, removeParallelDecoderGrad } from './decoder-norm';
import { forward, type SaeForward } from './forward';
import { initSaeParams } from './init';
import { saeBackward } from './backward';
import { saeLoss } from './loss';
import {
  batchRows,
  cloneParams,
  isTopKLike,
  resolveConfig,
  type ResolvedSaeConfig,
  type SaeConfig,
  type SaeParams,
} from './types';

export interface SaeTrainerOptions {
  /** Seed of the initialisation (ignored when `params` is given). */
  seed: number;
  /** Adam settings (β1 0.9, β2 0.999, ε 1e-8 unless given). */
  adam: AdamOptions;
  /** Start from these parameters (copied) instead of a fresh initialisation. */
  params?: SaeParams;
  /** Decoder bias to start from, e.g. `initDecoderBias(sample, dIn, 'geometric-median')`. */
  bDec?: Float32Array;
}

/** What one step reports (loss terms of the batch before the update). */
export interface SaeStepResult {
  loss: number;
  mse: number;
  l0: number;
  /** Fraction of latents dead after this step's firing statistics update. */
  deadFraction: number;
  /** TopK and BatchTopK only: the normalised AuxK loss before α. */
  auxLoss?: number;
}

/**
 * @example
 * const trainer = new SaeTrainer(cfg, { seed: 1, adam: { lr: 1e-3 } });
 * for (const batch of batches) trainer.step(batch);
 * trainer.params.wDec; // unit-norm rows
 */
export class SaeTrainer {
  readonly cfg: ResolvedSaeConfig;
  readonly params: SaeParams;
  readonly optimizer: Adam;
  /** Tokens since each latent last fired (counts from the start for one that never fired). */
  readonly tokensSinceFired: Float64Array;
  /** Steps taken. */
  steps = 0;
  /** BatchTopK: the running estimate of the inference threshold θ (batch-topk.ts). */
  readonly threshold: BatchTopKThreshold;
  private lastForward: SaeForward | undefined;

  constructor(cfg: SaeConfig, opts: SaeTrainerOptions) {
    this.cfg = resolveConfig(cfg);
    const { dIn, dSae } = this.cfg;
    this.params = opts.params ? cloneParams(opts.params) : initSaeParams(this.cfg, opts.seed);
    if (opts.bDec) {
      if (opts.bDec.length !== dIn) throw new Error(`bDec has ${opts.bDec.length} values, expected ${dIn}`);
      this.params.bDec.set(opts.bDec);
    }
    if (this.cfg.normalizeDecoder) normalizeDecoderRows(this.params.wDec, dSae, dIn);
    this.optimizer = new Adam({ ...this.params }, opts.adam);
    this.tokensSinceFired = new Float64Array(dSae);
    this.threshold = new BatchTopKThreshold(this.cfg.thresholdLr);
  }

  /** 1 for every latent that has not fired for more than `deadAfterTokens` tokens. */
  deadMask(): Uint8Array {
    const limit = this.cfg.deadAfterTokens;
    return Uint8Array.from(this.tokensSinceFired, (t) => (t > limit ? 1 : 0));
  }

  /** One optimisation step on a batch [n, dIn]. */
  step(batch: Float32Array): SaeStepResult {
    const { cfg, params } = this;
    const { dIn, dSae } = cfg;
    const n = batchRows(batch, dIn);
    if (n === 0) throw new Error('SaeTrainer.step: empty batch');
    const dead = this.deadMask();

    const fwd = forward(params, cfg, batch, this.lastForward);
    this.lastForward = fwd;
    const { terms, cache } = saeLoss(params, cfg, batch, fwd, isTopKLike(cfg.kind) ? dead : undefined);
    const grads = saeBackward(params, cfg, batch, fwd, cache);
    if (cfg.normalizeDecoder) removeParallelDecoderGrad(params.wDec, grads.wDec, dSae, dIn);
    this.optimizer.step({ ...grads });
    if (cfg.normalizeDecoder) normalizeDecoderRows(params.wDec, dSae, dIn);
    const deadFraction = this.updateFiring(fwd.latents, n);
    if (cfg.kind === 'batchtopk') this.threshold.update(smallestActive(fwd.latents));
    this.steps++;

    const out: SaeStepResult = { loss: terms.loss, mse: terms.mse, l0: terms.l0, deadFraction };
    if (terms.auxLoss !== undefined) out.auxLoss = terms.auxLoss;
    return out;
  }

  /** Reset the counter of every latent that fired in the batch, age the rest; the dead fraction. */
  private updateFiring(latents: Float32Array, n: number): number {
    const { dSae, deadAfterTokens } = this.cfg;
    const fired = new Uint8Array(dSae);
    for (let i = 0; i < n; i++) {
      const r = i * dSae;
      for (let j = 0; j < dSae; j++) if (latents[r + j] !== 0) fired[j] = 1;
    }
    let dead = 0;
    for (let j = 0; j < dSae; j++) {
      const t = fired[j] ? 0 : this.tokensSinceFired[j]! + n;
      this.tokensSinceFired[j] = t;
      if (t > deadAfterTokens) dead++;
    }
    return dead / dSae;
  }
}
