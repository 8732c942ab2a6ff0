/**
 * SAE trainer on any `Backend` (WebGPU or CPU): the same step as `SaeTrainer`, with parameters and
 * Adam moments kept as backend tensors. Per step only the loss sums ([2]) and the per-latent
 * statistics ([dSae, 3]: fired, rows active, weighted L1) come back to the host, for the loss
 * terms and the dead-latent counters (which decide the next step's AuxK mask).
 *
 *   encode → x̂ = f·W_dec + b_dec → err, g = (2/n)·err → [AuxK: aux latents, ê, its gradient] →
 *   gf = g·W_decᵀ → ∂L/∂pre (saeBackward) → Xcᵀ·∂pre, fᵀ·g (+ AuxK), b-grads → project decoder
 *   grads → Adam → renormalise decoder rows.
 *
 * BatchTopK reads the ReLU'd pre-activations back, selects the batch's k·n largest on the host
 * (`batchTopK`, the CPU trainer's own function) and uploads the latents; the backward pass is then
 * TopK's (the gradient flows through the kept entries). The selection is a batch-wide order
 * statistic, which no kernel here computes; doing it on the host keeps the tie rule and the
 * threshold estimate identical to `SaeTrainer` on both backends, at the cost of moving n·dSae
 * floats each way per step (for a 4096 × 512 batch, 8 MiB each way).
 *
 * Initialisation is `initSaeParams` on the host, so a seed gives the parameters `SaeTrainer` starts
 * from; the steps then agree to float32 rounding (test/browser/sae-train-step.test.ts).
 */
import type { Backend } from '../../kernels/backend';
import type { Tensor } from '../../kernels/tensor';
import { Adam } from './adam';
import { batchTopK, BatchTopKThreshold } from './batch-topk';
import { normalizeDecoderRows } from './decoder-norm';
import { initSaeParams } from './init';
import type { SaeStepResult, SaeTrainerOptions } from './trainer';
import {
  batchRows,
  cloneParams,
  isTopKLike,
  resolveConfig,
  SAE_PARAM_NAMES,
  type ResolvedSaeConfig,
  type SaeConfig,
  type SaeParamName,
  type SaeParams,
} from './types';

type Tensors = Partial<Record<SaeParamName, Tensor<'f32'>>>;

/**
 * @example
 * const trainer = new BackendSaeTrainer(backend, cfg, { seed: 1, adam: { lr: 1e-3 } });
 * for (const batch of batches) await trainer.step(batch);
 * const params = await trainer.readParams();
 * trainer.dispose();
 */
export class BackendSaeTrainer {
  readonly cfg: ResolvedSaeConfig;
  /** Tokens since each latent last fired (counts from the start for one that never fired). */
  readonly tokensSinceFired: Float64Array;
  /** Steps taken. */
  steps = 0;
  /** BatchTopK: the running estimate of the inference threshold θ (batch-topk.ts). */
  readonly threshold: BatchTopKThreshold;
  private params: Tensors = {};
  private m: Tensors = {};
  private v: Tensors = {};
  private ones: Tensor<'f32'> | undefined;
  private readonly adam: { lr: number; beta1: number; beta2: number; eps: number };
  private disposed = false;

  constructor(
    readonly backend: Backend,
    cfg: SaeConfig,
    opts: SaeTrainerOptions,
  ) {
    this.cfg = resolveConfig(cfg);
    const { dIn, dSae } = this.cfg;
    const host = opts.params ? cloneParams(opts.params) : initSaeParams(this.cfg, opts.seed);
    if (opts.bDec) {
      if (opts.bDec.length !== dIn) throw new Error(`bDec has ${opts.bDec.length} values, expected ${dIn}`);
      host.bDec.set(opts.bDec);
    }
    if (this.cfg.normalizeDecoder) normalizeDecoderRows(host.wDec, dSae, dIn);
    // Adam validates and fills in the settings exactly as SaeTrainer's optimiser does.
    const { lr, beta1, beta2, eps } = new Adam({}, opts.adam);
    this.adam = { lr, beta1, beta2, eps };
    const shapes = this.shapes();
    for (const name of SAE_PARAM_NAMES) {
      const data = host[name];
      if (!data) continue;
      this.params[name] = backend.tensor(data, shapes[name]);
      this.m[name] = backend.zeros(shapes[name], 'f32') as Tensor<'f32'>;
      this.v[name] = backend.zeros(shapes[name], 'f32') as Tensor<'f32'>;
    }
    this.tokensSinceFired = new Float64Array(dSae);
    this.threshold = new BatchTopKThreshold(this.cfg.thresholdLr);
  }

  /** Backend shapes: biases are row vectors so the matmuls can take them. */
  private shapes(): Record<SaeParamName, number[]> {
    const { dIn, dSae } = this.cfg;
    return { wEnc: [dIn, dSae], bEnc: [1, dSae], wDec: [dSae, dIn], bDec: [1, dIn], logThreshold: [dSae] };
  }

  /** 1 for every latent that has not fired for more than `deadAfterTokens` tokens. */
  deadMask(): Uint8Array {
    const limit = this.cfg.deadAfterTokens;
    return Uint8Array.from(this.tokensSinceFired, (t) => (t > limit ? 1 : 0));
  }

  /** One optimisation step on a batch [n, dIn]; resolves once its loss terms are read back. */
  async step(batch: Float32Array): Promise<SaeStepResult> {
    if (this.disposed) throw new Error('BackendSaeTrainer: used after dispose()');
    const { cfg, backend: b } = this;
    const { dIn, dSae, kind } = cfg;
    const n = batchRows(batch, dIn);
    if (n === 0) throw new Error('BackendSaeTrainer.step: empty batch');
    const p = this.params as Required<Tensors>;
    const own: (Tensor | undefined)[] = [];
    const keep = <T extends Tensor | undefined>(t: T): T => (own.push(t), t);

    const dead = this.deadMask();
    const useAux = isTopKLike(kind) && cfg.auxKCoefficient > 0 && dead.some((d) => d === 1);
    const x = keep(b.tensor(batch, [n, dIn]));
    const enc = b.saeEncode(x, p.wEnc, p.bEnc, p.bDec, {
      kind: kind === 'batchtopk' ? 'relu' : kind,
      k: cfg.k,
      ...(kind === 'jumprelu' ? { logThreshold: p.logThreshold } : {}),
    });
    const { pre } = enc;
    keep(pre);
    keep(enc.latents);
    const latents = kind === 'batchtopk' ? keep(await this.batchTopK(enc.latents, n)) : enc.latents;
    const recon = keep(b.matmul(latents, p.wDec));
    const err = keep(b.rowAffine(recon, { bias: p.bDec, minus: x }));
    const g = keep(b.rowAffine(err, { scale: 2 / n }));
    let aux: { latents: Tensor<'f32'>; recon: Tensor<'f32'> } | undefined;
    if (useAux) {
      const deadT = keep(b.tensor(Int32Array.from(dead), [dSae]));
      const auxLatents = keep(b.saeAuxLatents(pre, deadT, cfg.auxK));
      aux = { latents: auxLatents, recon: keep(b.matmul(auxLatents, p.wDec)) };
    }
    const stats = b.saeReconStats(
      err,
      aux ? { auxRecon: aux.recon, auxCoefficient: cfg.auxKCoefficient } : {},
    );
    keep(stats.sums);
    keep(stats.auxGrad);
    const gf = keep(b.matmul(g, p.wDec, { transposeB: true }));
    const auxGf = stats.auxGrad ? keep(b.matmul(stats.auxGrad, p.wDec, { transposeB: true })) : undefined;
    const bw = b.saeBackward(pre, latents, gf, {
      kind: kind === 'batchtopk' ? 'topk' : kind,
      l1Coefficient: cfg.l1Coefficient,
      bandwidth: cfg.bandwidth,
      ...(kind === 'relu' ? { wDec: p.wDec } : {}),
      ...(kind === 'jumprelu' ? { logThreshold: p.logThreshold } : {}),
      ...(aux && auxGf ? { aux: { latents: aux.latents, gf: auxGf } } : {}),
    });
    own.push(bw.dPre, bw.dbEnc, bw.latentStats, bw.decoderRowScale, bw.dLogThreshold);

    // ∂L/∂W_enc = (x − b_dec)ᵀ·∂pre; ∂L/∂W_dec = fᵀ·g (+ AuxK's), finished by saeDecoderGrad.
    const xc = keep(b.rowAffine(x, { bias: p.bDec, biasScale: -1 }));
    const gWenc = keep(b.matmul(xc, bw.dPre, { transposeA: true }));
    let gWdecRaw = keep(b.matmul(latents, g, { transposeA: true }));
    if (aux && stats.auxGrad) {
      const gAux = keep(b.matmul(aux.latents, stats.auxGrad, { transposeA: true }));
      gWdecRaw = keep(b.add(gWdecRaw, gAux));
    }
    const gWdec = keep(
      b.saeDecoderGrad(gWdecRaw, p.wDec, {
        project: cfg.normalizeDecoder,
        ...(bw.decoderRowScale ? { rowScale: bw.decoderRowScale } : {}),
      }),
    );
    // ∂L/∂b_dec = Σ_i g_i − W_enc·∂L/∂b_enc (pre depends on −b_dec).
    const colG = keep(b.matmul(this.onesRow(n), g));
    const wDb = keep(b.matmul(bw.dbEnc, p.wEnc, { transposeB: true }));
    const gbDec = keep(b.rowAffine(colG, { minus: wDb }));

    const grads: Tensors = { wEnc: gWenc, bEnc: bw.dbEnc, wDec: gWdec, bDec: gbDec };
    if (bw.dLogThreshold) grads.logThreshold = bw.dLogThreshold;
    const t = this.steps + 1;
    for (const name of SAE_PARAM_NAMES) {
      const grad = grads[name];
      const param = this.params[name];
      if (!grad || !param) continue;
      const r = b.adamUpdate(param, grad, this.m[name]!, this.v[name]!, { ...this.adam, step: t });
      own.push(param, this.m[name], this.v[name]);
      this.params[name] = r.param;
      this.m[name] = r.m;
      this.v[name] = r.v;
    }
    if (cfg.normalizeDecoder) {
      const old = this.params.wDec!;
      this.params.wDec = b.normalizeRows(old);
      own.push(old);
    }
    let sums: Float32Array;
    let latentStats: Float32Array;
    try {
      [sums, latentStats] = await Promise.all([b.read(stats.sums), b.read(bw.latentStats)]);
    } finally {
      b.dispose(...own);
    }
    this.steps = t;
    return this.terms(n, sums, latentStats, useAux);
  }

  /** Loss terms from the read-back sums, and the firing counters' update. */
  private terms(n: number, sums: Float32Array, latentStats: Float32Array, useAux: boolean): SaeStepResult {
    const { dSae, deadAfterTokens, kind, l1Coefficient } = this.cfg;
    let nnz = 0;
    let weightedL1 = 0;
    let dead = 0;
    for (let j = 0; j < dSae; j++) {
      nnz += latentStats[3 * j + 1]!;
      weightedL1 += latentStats[3 * j + 2]!;
      const since = latentStats[3 * j] ? 0 : this.tokensSinceFired[j]! + n;
      this.tokensSinceFired[j] = since;
      if (since > deadAfterTokens) dead++;
    }
    const mse = sums[0]! / n;
    const l0 = nnz / n;
    let loss = mse;
    if (kind === 'relu') loss += l1Coefficient * (weightedL1 / n);
    if (kind === 'jumprelu') loss += l1Coefficient * l0;
    const out: SaeStepResult = { loss, mse, l0, deadFraction: dead / dSae };
    if (isTopKLike(kind)) {
      const auxLoss = useAux && sums[0]! > 0 ? sums[1]! / sums[0]! : 0;
      if (useAux && sums[0]! > 0) out.loss += this.cfg.auxKCoefficient * auxLoss;
      out.auxLoss = auxLoss;
    }
    return out;
  }

  /** BatchTopK latents from the ReLU'd pre-activations [n, dSae]; updates the threshold estimate. */
  private async batchTopK(relu: Tensor<'f32'>, n: number): Promise<Tensor<'f32'>> {
    const { dSae, k } = this.cfg;
    const kept = new Float32Array(n * dSae);
    const minKept = batchTopK(await this.backend.read(relu), n, dSae, k, kept);
    this.threshold.update(minKept);
    return this.backend.tensor(kept, [n, dSae]);
  }

  /** A [1, n] row of ones (column sums as a matmul), kept between steps of the same size. */
  private onesRow(n: number): Tensor<'f32'> {
    if (this.ones?.shape[1] !== n) {
      this.backend.dispose(this.ones);
      this.ones = this.backend.tensor(new Float32Array(n).fill(1), [1, n]);
    }
    return this.ones;
  }

  /** Copy the parameters back to the host (flat row-major arrays, as `SaeTrainer.params`). */
  async readParams(): Promise<SaeParams> {
    if (this.disposed) throw new Error('BackendSaeTrainer: used after dispose()');
    const p = this.params;
    const [wEnc, bEnc, wDec, bDec, logThreshold] = await Promise.all(
      SAE_PARAM_NAMES.map((name) => (p[name] ? this.backend.read(p[name]) : Promise.resolve(undefined))),
    );
    const out: SaeParams = { wEnc: wEnc!, bEnc: bEnc!, wDec: wDec!, bDec: bDec! };
    if (logThreshold) out.logThreshold = logThreshold;
    return out;
  }

  /** Adam's moments of a parameter (tests, checkpoints). */
  async readMoments(name: SaeParamName): Promise<{ m: Float32Array; v: Float32Array } | undefined> {
    const m = this.m[name];
    const v = this.v[name];
    if (!m || !v) return undefined;
    const [mm, vv] = await Promise.all([this.backend.read(m), this.backend.read(v)]);
    return { m: mm, v: vv };
  }

  /** Release every backend tensor the trainer holds. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const set of [this.params, this.m, this.v]) this.backend.dispose(...Object.values(set));
    this.backend.dispose(this.ones);
  }
}
