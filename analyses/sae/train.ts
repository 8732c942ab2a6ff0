/**
 * Train an SAE (or build an ITDA dictionary) on a model's activations at one hook point. On a
 * WebGPU model the step runs on the device (`BackendSaeTrainer`, parameters and Adam state stay
 * there); on the CPU the reference `SaeTrainer` runs (the fastest CPU path). `trainer` forces one.
 *
 * Data flow: `collectActivations` (windows of the loss evaluation) → `shuffleActivations` (seeded
 * buffer) → `activationBatches` → `SaeTrainer.step`. The first pass over the corpus is kept as
 * chunks (up to `cacheRows` rows, never one buffer) so that later passes, needed when
 * steps × batchSize exceeds the corpus, reshuffle the kept rows with a new seed instead of
 * re-running the model; a corpus larger than the cache is re-run each pass instead.
 *
 * The decoder bias starts at the geometric median of the first `initRows` shuffled rows (SAELens'
 * `b_dec_init_method: geometric_median`), or their mean, or zero.
 */
import { checkKindOptions } from './train-options';
import { Field, Float32, Int32, type RecordBatch, Schema, type Table } from 'apache-arrow';
import type { LlamaModel } from '../../runtime/model/llama';
import { createYielder } from '../../runtime/scheduling';
import { TABLE_KIND_KEY, tableFromRows } from '../../runtime/tables';
import { buildTokenStream } from '../../runtime/text';
import { lossWindows } from '../../runtime/windows';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import type { LoadedSae } from './codec';
import {
  activationBatches,
  activationRows,
  checkSaeHook,
  type SaeHook,
  collectActivations,
  shuffleActivations,
  type ActivationTypes,
} from './collect';
import { BackendSaeTrainer } from './backend-trainer';
import { batchTopKToJumpRelu, thresholdLrFor } from './batch-topk';
import { forward } from './forward';
import { initDecoderBias } from './init';
import { buildItda, itdaEncode, itdaToSaeParams } from './itda';
import { SaeEvalAccumulator } from './metrics';
import { SaeTrainer } from './trainer';
import type { SaeConfig, SaeKind } from './types';

export type TrainKind = SaeKind | 'itda';
export const TRAIN_KINDS: readonly TrainKind[] = ['topk', 'batchtopk', 'relu', 'jumprelu', 'itda'];

/** Which trainer runs the steps: the CPU reference, or the model backend's ops. */
export type TrainerChoice = 'cpu-reference' | 'backend';
export const TRAINER_CHOICES: readonly TrainerChoice[] = ['cpu-reference', 'backend'];

/** One training step's numbers, as `onProgress` gets them and the curve table stores them. */
export interface TrainProgress {
  step: number;
  loss: number;
  mse: number;
  l0: number;
  deadFraction: number;
}

export interface TrainSaeOptions {
  /** Hook point, e.g. `blocks.2.hook_resid_post`. */
  hook: string;
  kind: TrainKind;
  /**
   * TopK: latents per token; BatchTopK: mean latents per token (k·batchSize kept per batch); ITDA:
   * matching-pursuit atoms per token (default 16).
   */
  k?: number;
  /** dSae = expansion × d_in (default 8). */
  expansion?: number;
  /** Optimisation steps (default 1000; ITDA ignores it). */
  steps?: number;
  /** Rows per step (default 1024). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seed of the initialisation and of the shuffle (default 1). */
  seed?: number;
  /** ReLU: λ of the weighted L1; JumpReLU: λ of the L0 penalty (SaeConfig defaults otherwise). */
  l1Coefficient?: number;
  /** BatchTopK: rate of the running threshold estimate (default `thresholdLrFor(steps)`). */
  thresholdLr?: number;
  /** ITDA: add a row whose normalised residual is above this (default 0.1). */
  itdaThreshold?: number;
  /** Decoder bias initialisation (default 'geometric-median'). */
  bDecInit?: 'geometric-median' | 'mean' | 'zero';
  /** Rows the decoder bias is computed from (default 4096). */
  initRows?: number;
  /** Skip this many windows of the text (e.g. held out for evaluation; default 0). */
  firstWindow?: number;
  /** Use at most this many windows; default: enough windows for `maxRows` rows. */
  maxWindows?: number;
  /** Rows to collect from the model (default min(steps × batchSize, cacheRows)); fewer → more passes. */
  maxRows?: number;
  /** Rows kept from the first pass for later passes (default 262,144). */
  cacheRows?: number;
  /** Rows of the shuffle buffer (default 16,384). */
  shuffleRows?: number;
  /** A latent is dead after this many tokens without firing (SaeConfig default otherwise). */
  deadAfterTokens?: number;
  /** Name of the text for messages. */
  fileName?: string;
  signal?: AbortSignal;
  /** Called after every step (every `progressEvery` steps, default 1) with that step's numbers. */
  onProgress?: (p: TrainProgress) => void;
  progressEvery?: number;
  /** Called while collecting: windows done / total of the first pass. */
  onCollect?: (p: { done: number; total: number }) => void;
  /** Awaited before every step: resolve it to go on; keep it pending to pause. */
  waitIfPaused?: () => Promise<void>;
  /**
   * 'backend' trains with the model's backend ops (`BackendSaeTrainer`), 'cpu-reference' with
   * `SaeTrainer` on the host. Default: 'backend' on a WebGPU model, 'cpu-reference' otherwise.
   */
  trainer?: TrainerChoice;
}

/** Columns of the training curve table: one row per step (`sparsebook.table` = `sae-curve`). */
export const SAE_CURVE_SCHEMA = new Schema(
  [
    new Field('step', new Int32(), false),
    new Field('loss', new Float32(), false),
    new Field('mse', new Float32(), false),
    new Field('l0', new Float32(), false),
    new Field('dead_fraction', new Float32(), false),
  ],
  new Map([[TABLE_KIND_KEY, 'sae-curve']]),
);

export interface TrainSaeResult {
  /** The trained SAE; a BatchTopK run gives its inference form, a JumpReLU with one threshold. */
  sae: LoadedSae;
  /** BatchTopK: the global inference threshold θ estimated during training. */
  threshold?: number;
  /** step, loss, mse, l0, dead_fraction (see SAE_CURVE_SCHEMA). */
  curve: Table;
  steps: number;
  /** Activation rows fed to the trainer (or to the ITDA builder). */
  rowsTrained: number;
  /** Distinct rows collected from the model in the first pass. */
  rowsCollected: number;
  /** Passes over the collected rows (fractional for the last). */
  epochs: number;
  /** The trainer that ran the steps ('cpu-reference' for ITDA, which has no steps). */
  trainer: TrainerChoice;
  /** Wall time of the whole run and of the optimisation steps alone (with their read-backs). */
  seconds: number;
  trainSeconds: number;
  /** rowsTrained / trainSeconds. */
  activationsPerSecond: number;
}

/**
 * @example
 * const r = await trainSae(model, tok, text, { hook: 'blocks.2.hook_resid_post', kind: 'topk', k: 16, steps: 500 });
 * r.sae.params.wDec; // [512, 64]
 * @throws HookError for a bad hook; an Error for an option this kind does not read
 *   (`checkKindOptions`); the signal's reason when aborted.
 */
export async function trainSae(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  opts: TrainSaeOptions,
): Promise<TrainSaeResult> {
  const t0 = performance.now();
  const { kind, signal } = opts;
  if (!TRAIN_KINDS.includes(kind))
    throw new Error(`invalid SAE kind "${String(kind)}"; expected ${TRAIN_KINDS.join(', ')}`);
  const trainerChoice: TrainerChoice =
    opts.trainer ?? (model.backend.kind === 'webgpu' ? 'backend' : 'cpu-reference');
  if (!TRAINER_CHOICES.includes(trainerChoice)) {
    throw new Error(`invalid SAE trainer "${String(trainerChoice)}"; expected ${TRAINER_CHOICES.join(', ')}`);
  }
  const hook = checkSaeHook(model.config, opts.hook);
  checkKindOptions(kind, { l1Coefficient: opts.l1Coefficient, itdaThreshold: opts.itdaThreshold });
  const expansion = opts.expansion ?? 8;
  const steps = opts.steps ?? 1000;
  const batchSize = opts.batchSize ?? 1024;
  const seed = opts.seed ?? 1;
  const k = opts.k ?? 16;
  const cacheRows = opts.cacheRows ?? 262_144;
  const posInt = (name: string, v: number) => {
    if (!(Number.isSafeInteger(v) && v >= 1)) throw new Error(`${name} must be an integer ≥ 1, got ${v}`);
  };
  posInt('steps', steps);
  posInt('batchSize', batchSize);
  posInt('k', k);
  if (!(expansion > 0)) throw new Error(`expansion must be > 0, got ${expansion}`);

  const stream = buildTokenStream(tokenizer, text, opts.fileName);
  const S = model.config.seqLen;
  const wanted = opts.maxRows ?? Math.min(kind === 'itda' ? cacheRows : steps * batchSize, cacheRows);
  const available = lossWindows(stream.tokens.length, S, { first: opts.firstWindow });
  if (available.length === 0)
    throw new Error(`the text has no windows after window ${opts.firstWindow ?? 0}`);
  const maxWindows = opts.maxWindows ?? Math.max(1, Math.ceil(wanted / S));
  const collectOpts = { hook, firstWindow: opts.firstWindow, maxWindows, signal };

  // Pass 0 streams from the model and keeps its chunks (when they fit) for the later passes.
  const kept: RecordBatch<ActivationTypes>[] = [];
  let keptRows = 0;
  let overflow = false;
  let rowsCollected = 0;
  async function* firstPass(): AsyncGenerator<RecordBatch<ActivationTypes>> {
    for await (const b of collectActivations(model, stream, { ...collectOpts, onProgress: opts.onCollect })) {
      rowsCollected += b.numRows;
      if (!overflow && keptRows + b.numRows <= cacheRows) {
        kept.push(b);
        keptRows += b.numRows;
      } else {
        overflow = true;
        kept.length = 0;
      }
      yield b;
    }
  }
  async function* pass(epoch: number): AsyncGenerator<RecordBatch<ActivationTypes>> {
    if (epoch === 0) yield* firstPass();
    else if (!overflow) yield* kept;
    else yield* collectActivations(model, stream, collectOpts);
  }
  const shuffleRows = opts.shuffleRows ?? 16_384;
  let epoch = 0;
  async function* rows(): AsyncGenerator<Float32Array> {
    for (; ; epoch++) {
      let any = false;
      const shuffled = shuffleActivations(pass(epoch), {
        seed: seed * 1_000_003 + epoch,
        bufferRows: shuffleRows,
      });
      for await (const x of activationBatches(shuffled, batchSize, { dropLast: true })) {
        any = true;
        yield x;
      }
      if (!any)
        throw new Error(
          `not enough activations for one batch of ${batchSize} rows (${rowsCollected} collected)`,
        );
    }
  }

  const dIn = await widthAt(model, hook, stream.tokens);
  const dSae = Math.max(1, Math.round(expansion * dIn));
  const curve: TrainProgress[] = [];

  if (kind === 'itda') {
    // ITDA is built from the collected rows in shuffled order (one pass, up to cacheRows rows).
    const parts: Float32Array[] = [];
    let n = 0;
    const shuffled = shuffleActivations(pass(0), { seed, bufferRows: shuffleRows });
    for await (const b of shuffled) {
      const r = activationRows(b);
      parts.push(r.activation.slice());
      n += r.n;
      if (n >= cacheRows) break;
    }
    const data = new Float32Array(n * dIn);
    let o = 0;
    for (const p of parts) {
      data.set(p.subarray(0, Math.min(p.length, data.length - o)), o);
      o += p.length;
    }
    const tTrain = performance.now();
    const dict = buildItda(data, dIn, { k, threshold: opts.itdaThreshold ?? 0.1, maxSize: dSae });
    const trainSeconds = (performance.now() - tTrain) / 1000;
    const { cfg, params } = itdaToSaeParams(dict, k, hook);
    // Metrics of the last batch-sized slice of the build data, as a one-row curve.
    const tail = data.subarray(Math.max(0, n - batchSize) * dIn);
    const codes = itdaEncode(dict, tail, k);
    const acc = new SaeEvalAccumulator(dIn, dict.size);
    acc.add(tail, codes.reconstruction, codes.latents);
    const res = acc.result();
    curve.push({ step: 0, loss: res.mse, mse: res.mse, l0: res.l0, deadFraction: res.deadFraction });
    opts.onProgress?.(curve[0]!);
    return {
      sae: { cfg, params, itda: { dict, k } },
      curve: curveTable(curve),
      steps: 0,
      trainer: 'cpu-reference',
      rowsTrained: n,
      rowsCollected,
      epochs: 1,
      seconds: (performance.now() - t0) / 1000,
      trainSeconds,
      activationsPerSecond: n / trainSeconds,
    };
  }

  const cfg: SaeConfig = { kind, dIn, dSae, hookName: hook, normalizeDecoder: true };
  if (kind === 'topk' || kind === 'batchtopk') cfg.k = k;
  if (opts.l1Coefficient !== undefined) cfg.l1Coefficient = opts.l1Coefficient;
  if (kind === 'batchtopk') cfg.thresholdLr = opts.thresholdLr ?? thresholdLrFor(steps);
  if (opts.deadAfterTokens !== undefined) cfg.deadAfterTokens = opts.deadAfterTokens;

  const it = rows();
  // Decoder bias from the first rows (they are then trained on as usual).
  const initRows = opts.initRows ?? 4096;
  const first: Float32Array[] = [];
  while (first.length * batchSize < initRows) {
    const r = await it.next();
    if (r.done) break;
    first.push(r.value);
  }
  const method = opts.bDecInit ?? 'geometric-median';
  let bDec: Float32Array | undefined;
  if (method !== 'zero') {
    const sample = new Float32Array(first.length * batchSize * dIn);
    first.forEach((x, i) => sample.set(x, i * batchSize * dIn));
    bDec = initDecoderBias(sample, dIn, method);
  }
  const trainerOpts = { seed, adam: { lr: opts.lr ?? 1e-3 }, ...(bDec ? { bDec } : {}) };
  const trainer =
    trainerChoice === 'backend'
      ? new BackendSaeTrainer(model.backend, cfg, trainerOpts)
      : new SaeTrainer(cfg, trainerOpts);
  const every = Math.max(1, opts.progressEvery ?? 1);
  const maybeYield = createYielder();
  let trainMs = 0;
  let params;
  try {
    for (let step = 0; step < steps; step++) {
      await opts.waitIfPaused?.();
      signal?.throwIfAborted();
      const x = first[step] ?? (await it.next()).value;
      if (!x) throw new Error('activation stream ended');
      // The backend step resolves after its loss terms are read back, so the time is honest.
      const ts = performance.now();
      const r = await trainer.step(x);
      trainMs += performance.now() - ts;
      const p: TrainProgress = { step, loss: r.loss, mse: r.mse, l0: r.l0, deadFraction: r.deadFraction };
      curve.push(p);
      if (step % every === 0 || step === steps - 1) opts.onProgress?.(p);
      await maybeYield();
    }
    params = trainer instanceof SaeTrainer ? trainer.params : await trainer.readParams();
  } finally {
    if (trainer instanceof BackendSaeTrainer) trainer.dispose();
  }
  await it.return(undefined);
  const rowsTrained = steps * batchSize;
  const threshold = kind === 'batchtopk' ? trainer.threshold.value : undefined;
  return {
    sae:
      kind === 'batchtopk'
        ? batchTopKToJumpRelu(trainer.cfg, params, threshold)
        : { cfg: trainer.cfg, params },
    ...(threshold !== undefined ? { threshold } : {}),
    curve: curveTable(curve),
    steps,
    trainer: trainerChoice,
    rowsTrained,
    rowsCollected,
    epochs: rowsCollected ? rowsTrained / rowsCollected : 0,
    seconds: (performance.now() - t0) / 1000,
    trainSeconds: trainMs / 1000,
    activationsPerSecond: rowsTrained / (trainMs / 1000),
  };
}

/** The training curve as an Arrow table (SAE_CURVE_SCHEMA). */
export function curveTable(rows: readonly TrainProgress[]): Table {
  return tableFromRows(
    SAE_CURVE_SCHEMA,
    rows.map((r) => ({ step: r.step, loss: r.loss, mse: r.mse, l0: r.l0, dead_fraction: r.deadFraction })),
  );
}

/** Width of the activation at `hook`, from a one-token forward pass. */
export async function widthAt(model: LlamaModel, hook: SaeHook, tokens: Int32Array): Promise<number> {
  let width = 0;
  const logits = await model.forward(tokens.subarray(0, 1), {
    hooks: {
      [hook]: (t) => {
        width = t.shape[t.shape.length - 1]!;
      },
    },
  });
  model.backend.dispose(logits);
  return width;
}

/** Reconstruction metrics of an SAE on batches (used by tests and the bench). */
export function batchMetrics(sae: LoadedSae, x: Float32Array) {
  const { cfg, params } = sae;
  const f = sae.itda ? itdaEncode(sae.itda.dict, x, sae.itda.k) : forward(params, cfg, x);
  const acc = new SaeEvalAccumulator(cfg.dIn, cfg.dSae);
  acc.add(x, f.reconstruction, f.latents);
  return acc.result();
}
