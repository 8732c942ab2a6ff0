/**
 * BatchTopK (Bussmann, Leask & Nanda 2024, "BatchTopK Sparse Autoencoders"), the training-time
 * activation and its inference threshold.
 *
 * Training: ReLU the pre-activations of the whole batch [n, dSae] and keep the k·n largest entries
 * across the batch (not k per row), so a token can have more or fewer than k active latents and
 * the mean per token is k. Ties at the boundary go to the lower flat (row-major) index, so exactly
 * min(k·n, #positive) entries are kept and the choice is deterministic; zeros are never "kept"
 * (dictionary_learning's top-k over ReLU'd values may pick zeros, which change nothing).
 *
 * Inference: one global threshold θ, f = pre·[pre > θ] (a JumpReLU with the same θ for every
 * latent; SAELens converts BatchTopK SAEs to JumpReLU the same way). θ is estimated while training
 * from the smallest kept activation of each batch, m_t: SAELens's update θ ← (1 − lr)·θ + lr·m_t
 * (`topk_threshold_lr`, default 0.01), started from the first batch's m_1 as dictionary_learning
 * does (its `threshold < 0` sentinel) rather than from SAELens's 0, so a short run is not biased
 * towards 0. A batch that keeps nothing positive leaves θ unchanged.
 *
 * SAELens's lr 0.01 remembers ~100 batches, which suits its runs of tens of thousands of steps; on
 * a run of a few hundred steps it averages over the early, still-moving batches and overestimates θ
 * (stories260K, k = 8, 120 steps: θ 1.10 gives held-out L0 5.4 instead of 8). `trainSae` therefore
 * uses lr = max(0.01, 10 / steps) unless told otherwise (`thresholdLrFor`): the same 0.01 for runs
 * of 1000 steps or more, a memory of a tenth of the run for shorter ones.
 */
import { SAE_DEFAULTS, type SaeConfig, type SaeParams } from './types';

/**
 * The threshold rate `trainSae` uses for a run of `steps` steps: max(0.01, 10 / steps), at most 1.
 *
 * @example
 * thresholdLrFor(5000); // 0.01
 * thresholdLrFor(200); // 0.05
 */
export function thresholdLrFor(steps: number): number {
  return Math.min(1, Math.max(SAE_DEFAULTS.thresholdLr, 10 / steps));
}

/**
 * Keep the k·n largest positive entries of `pre` [n, dSae] across the batch; the rest are 0.
 * Returns the smallest kept value (0 when nothing positive was kept). Values must be finite.
 *
 * @example
 * const out = new Float32Array(4);
 * batchTopK(Float32Array.of(3, 1, 2, 5), 2, 2, 1, out); // 3; out = [3, 0, 0, 5]
 */
export function batchTopK(pre: Float32Array, n: number, dSae: number, k: number, out: Float32Array): number {
  const size = n * dSae;
  if (pre.length !== size || out.length !== size) {
    throw new Error(
      `batchTopK: pre and out must hold ${n}×${dSae} values, got ${pre.length} and ${out.length}`,
    );
  }
  if (!Number.isSafeInteger(k) || k < 1 || k > dSae)
    throw new Error(`batchTopK: invalid k ${k} (dSae ${dSae})`);
  out.fill(0);
  let positive = 0;
  for (let t = 0; t < size; t++) {
    const v = pre[t]!;
    if (!Number.isFinite(v)) throw new Error(`batchTopK: pre-activation ${t} is ${v}`);
    if (v > 0) positive++;
  }
  if (positive === 0) return 0;
  const budget = Math.min(k * n, positive);
  const values = new Float32Array(positive);
  for (let t = 0, s = 0; t < size; t++) if (pre[t]! > 0) values[s++] = pre[t]!;
  // The budget-th largest positive value: everything above it is kept, and among the values
  // equal to it only as many as the budget still allows, lowest flat index first.
  const cut = nthLargest(values, budget);
  let above = 0;
  for (let t = 0; t < size; t++) if (pre[t]! > cut) above++;
  let tiesLeft = budget - above;
  for (let t = 0; t < size; t++) {
    const v = pre[t]!;
    if (v > cut) out[t] = v;
    else if (v === cut && tiesLeft > 0) {
      out[t] = v;
      tiesLeft--;
    }
  }
  return cut;
}

/** The r-th largest value (r ≥ 1) of `a`, by Hoare quickselect; reorders `a`. */
function nthLargest(a: Float32Array, r: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const want = r - 1; // index in descending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else return a[want]!;
  }
  return a[want]!;
}

/**
 * Running estimate of the inference threshold θ from each batch's smallest kept activation.
 *
 * @example
 * const est = new BatchTopKThreshold();
 * est.update(0.5); est.update(1.5); est.value; // 0.5 + 0.01·(1.5 − 0.5) = 0.51
 */
export class BatchTopKThreshold {
  /** θ, or undefined before any batch kept a positive activation. */
  value: number | undefined;

  constructor(readonly lr: number = SAE_DEFAULTS.thresholdLr) {
    if (!(lr > 0 && lr <= 1)) throw new Error(`BatchTopK threshold lr must be in (0, 1], got ${lr}`);
  }

  /** Fold in one batch's smallest kept activation (0 = nothing kept: no update). */
  update(minKept: number): void {
    if (!Number.isFinite(minKept) || minKept < 0) {
      throw new Error(`BatchTopK threshold: smallest kept activation is ${minKept}`);
    }
    if (minKept === 0) return;
    this.value = this.value === undefined ? minKept : (1 - this.lr) * this.value + this.lr * minKept;
  }
}

/**
 * The inference SAE of a BatchTopK training run: a JumpReLU whose every latent has threshold θ.
 *
 * @example
 * const sae = batchTopKToJumpRelu(trainer.cfg, trainer.params, trainer.threshold.value!);
 */
export function batchTopKToJumpRelu(
  cfg: SaeConfig,
  params: SaeParams,
  theta: number | undefined,
): { cfg: SaeConfig; params: SaeParams } {
  if (cfg.kind !== 'batchtopk') throw new Error(`batchTopKToJumpRelu: the SAE is ${cfg.kind}, not batchtopk`);
  if (theta === undefined || !(theta > 0) || !Number.isFinite(theta)) {
    throw new Error(
      `batchTopKToJumpRelu: no usable threshold (${String(theta)}); no batch kept an active latent`,
    );
  }
  const out: SaeParams = {
    wEnc: params.wEnc,
    bEnc: params.bEnc,
    wDec: params.wDec,
    bDec: params.bDec,
    logThreshold: new Float32Array(cfg.dSae).fill(Math.log(theta)),
  };
  // k stays in the config as a record of how the SAE was trained (a JumpReLU does not read it).
  return { cfg: { ...cfg, kind: 'jumprelu' }, params: out };
}

/** The smallest non-zero latent of a batch (the smallest kept activation), or 0 when none is. */
export function smallestActive(latents: Float32Array): number {
  let m = Infinity;
  for (let t = 0; t < latents.length; t++) {
    const v = latents[t]!;
    if (v !== 0 && v < m) m = v;
  }
  return m === Infinity ? 0 : m;
}
