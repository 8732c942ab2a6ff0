/**
 * The SAE studio's work, as the runtime worker runs it (runtime-api.ts wraps each function in a
 * job): train (or import) an SAE at a hook, evaluate it on held-out windows, keep it in worker
 * memory under its cell's id, and answer the feature views (browse, one feature's card, a prompt,
 * steering, ablation). Plain functions over a loaded model, so Node tests call them directly on
 * the CPU backend.
 *
 * An SAE leaves the worker as its files inside an Arrow table (analyses/sae/catalogue.ts).
 */
import type { Table } from 'apache-arrow';
import { saeFilesTable } from '../analyses/sae/catalogue';
import { browseFeatures, type FeatureBrowser, type FeatureContext } from '../analyses/sae/features';
import {
  clampHook,
  featureAblationLoss,
  generateWithHook,
  logitEffects,
  nearestFeatures,
  promptLatents,
  readUnembedding,
  steeringHook,
  type PromptToken,
  type Unembedding,
} from '../analyses/sae/features';
import type { LoadedSae } from '../analyses/sae/codec';
import { lossWindows } from '../runtime/windows';
import { evaluateSae, evaluateTranscoder, type SaeEvaluation } from '../analyses/sae/evaluate';
import { SAELENS_CFG_FILE } from '../analyses/sae/catalogue';
import {
  adaptPretrainedToModel,
  checkPretrainedForModel,
  loadPretrainedSae,
  type PretrainedLoad,
} from '../analyses/sae/pretrained';
import { neuronpediaFeatureUrl } from '../analyses/sae/releases';
import { saeFiles, loadSaeFiles } from '../analyses/sae/sae-files';
import { trainSae, type TrainKind, type TrainProgress } from '../analyses/sae/train';
import type { LlamaModel, Tokenizer } from '../runtime/index';
import { buildTokenStream } from '../runtime/text';
import type { SaeHubInfo } from './sae-hub';
import { KeptByCell } from '../runtime/kept-by-cell';

/** What the SAE cell asks to train. */
export interface SaeTrainRequest {
  cellId: string;
  text: string;
  fileName?: string;
  hook: string;
  kind: TrainKind;
  k?: number;
  expansion?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  l1Coefficient?: number;
  seed?: number;
  /** Windows held out (the first ones of the text) for the evaluation; training starts after them. */
  evalWindows?: number;
}

/** What the SAE cell asks to import (SAELens files), or to restore from its kept result. */
export interface SaeImportRequest {
  cellId: string;
  /** The text to evaluate on (held-out windows); '' skips the evaluation. */
  text: string;
  fileName?: string;
  files: Record<string, Uint8Array>;
  /** The hook the user expects; a file for another hook is refused (CompatibilityError). */
  hook?: string;
  evalWindows?: number;
  /** Only upload (a reload of a result that already holds the evaluation). */
  skipEvaluation?: boolean;
}

/** Training progress: collecting windows, then one point of the curve per reported step. */
export type SaeTrainProgress =
  { phase: 'collect'; done: number; total: number } | { phase: 'train'; point: TrainProgress; total: number };

/** The SAE's numbers as the cell shows them (JSON-safe: no typed arrays). */
export interface SaeSummary {
  saeId: string;
  hook: string;
  kind: TrainKind;
  dIn: number;
  dSae: number;
  k?: number;
  /** Absent when the evaluation was skipped. */
  evaluation?: Omit<SaeEvaluation, 'firing_frequency'>;
  /** Where an SAE opened from the hub came from (workers/sae-hub.ts). */
  hub?: SaeHubInfo;
  /**
   * Present for a transcoder (SAELens transcoder / skip_transcoder): it reads `hook` and its output
   * is spliced in place of `hookOut` (an MLP's output). Its evaluation is of that splice. A
   * transcoder is not kept for the feature views (`saeId` is empty).
   */
  transcoder?: TranscoderSummary;
  training?: {
    steps: number;
    rowsTrained: number;
    rowsCollected: number;
    epochs: number;
    seconds: number;
    activationsPerSecond: number;
    trainer: string;
  };
}

/** What a transcoder reads and writes, as the SAE cell shows it. */
export interface TranscoderSummary {
  /** The architecture as its cfg.json names it. */
  architecture: string;
  hookOut: string;
  dOut: number;
  /** A skip transcoder: its output adds x·W_skipᵀ. */
  skip: boolean;
}

interface KeptSae {
  model: LlamaModel;
  sae: LoadedSae;
  kind: TrainKind;
  unembedding?: Unembedding;
  /** The last browse of this SAE's features, for feature cards. */
  browser?: FeatureBrowser;
}

/** Most SAEs kept at once (the least recently used goes first). */
export const MAX_KEPT_SAES = 6;

/** SAEs kept in worker memory by the id of the cell that made them (runtime/kept-by-cell.ts). */
export class SaeStore extends KeptByCell<LlamaModel, KeptSae> {
  constructor() {
    super(MAX_KEPT_SAES, 'SAE', 'the SAE cell');
  }

  /** The kept SAE a view names, or an error saying to run its cell again. */
  sae(ref: SaeRef): KeptSae {
    return this.get(ref.saeCell, ref.saeId);
  }
}

/** Which kept SAE a feature view means. */
export interface SaeRef {
  /** Id of the SAE cell. */
  saeCell: string;
  /** `SaeSummary.saeId` of the result the view shows. */
  saeId: string;
}

/** One feature of a kept SAE (`saeFeature`). */
export interface SaeFeatureRequest extends SaeRef {
  feature: number;
}

/** The features active on each token of `prompt`, `top` per token (default 6). */
export interface SaePromptRequest extends SaeRef {
  prompt: string;
  top?: number;
}

/** One feature zero-ablated over the first `maxWindows` windows (default 2) of `text`. */
export interface SaeAblateRequest extends SaeFeatureRequest {
  text: string;
  fileName?: string;
  maxWindows?: number;
}

/** Held-out evaluation windows: the first `evalWindows` of the text (at least one). */
function evalWindowCount(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  want: number,
  fileName?: string,
) {
  const stream = buildTokenStream(tokenizer, text, fileName);
  const all = lossWindows(stream.tokens.length, model.config.seqLen).length;
  if (!(Number.isInteger(want) && want >= 1))
    throw new RangeError(`evaluation windows must be an integer ≥ 1, got ${want}`);
  if (all <= want)
    throw new RangeError(
      `${fileName ?? 'the text'} has ${all} windows of ${model.config.seqLen} tokens; ${want} are held out for evaluation, so none is left to train on`,
    );
  return want;
}

/** The SAE's numbers for the cell (its evaluation without the per-latent frequencies). */
export function summaryOf(
  saeId: string,
  sae: LoadedSae,
  kind: TrainKind,
  evaluation: SaeEvaluation | undefined,
): SaeSummary {
  const s: SaeSummary = { saeId, hook: sae.cfg.hookName, kind, dIn: sae.cfg.dIn, dSae: sae.cfg.dSae };
  if (kind === 'topk' || kind === 'batchtopk') s.k = sae.cfg.k;
  if (kind === 'itda' && sae.itda) s.k = sae.itda.k;
  if (evaluation) {
    const { firing_frequency: _omitted, ...rest } = evaluation;
    s.evaluation = rest;
  }
  return s;
}

export interface SaeJobResult {
  summary: SaeSummary;
  /** The training curve (SAE_CURVE_SCHEMA), absent for imports. */
  curve?: Table;
  /** The SAE's files (SAE_FILES_SCHEMA). */
  files: Table;
}

/**
 * Train an SAE on the text after its held-out windows, evaluate it on those, and keep it.
 *
 * @example
 * const r = await saeTrainJob(model, tok, store, 'stories260K', { cellId: 'c1', text, hook: 'blocks.2.hook_resid_post', kind: 'topk', k: 16, steps: 200 });
 */
export async function saeTrainJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  store: SaeStore,
  modelName: string,
  request: SaeTrainRequest,
  opts: {
    signal?: AbortSignal;
    onProgress?: (p: SaeTrainProgress) => void;
    waitIfPaused?: () => Promise<void>;
    /** Report every n-th step (default: about 100 points over the run). */
    progressEvery?: number;
  } = {},
): Promise<SaeJobResult> {
  const { signal } = opts;
  const evalWindows = evalWindowCount(
    model,
    tokenizer,
    request.text,
    request.evalWindows ?? 2,
    request.fileName,
  );
  const steps = request.steps ?? 1000;
  const r = await trainSae(model, tokenizer, request.text, {
    hook: request.hook,
    kind: request.kind,
    k: request.k,
    expansion: request.expansion,
    steps,
    batchSize: request.batchSize,
    lr: request.lr,
    l1Coefficient: request.l1Coefficient,
    seed: request.seed,
    firstWindow: evalWindows,
    fileName: request.fileName,
    signal,
    waitIfPaused: opts.waitIfPaused,
    progressEvery: opts.progressEvery ?? Math.max(1, Math.round(steps / 100)),
    onCollect: (p) => opts.onProgress?.({ phase: 'collect', ...p }),
    onProgress: (point) => opts.onProgress?.({ phase: 'train', point, total: steps }),
  });
  signal?.throwIfAborted();
  const evaluation = await evaluateSae(model, tokenizer, request.text, r.sae, {
    maxWindows: evalWindows,
    fileName: request.fileName,
    signal,
  });
  const saeId = store.keep(request.cellId, { model, sae: r.sae, kind: request.kind });
  const summary = summaryOf(saeId, r.sae, request.kind, evaluation);
  summary.training = {
    steps: r.steps,
    rowsTrained: r.rowsTrained,
    rowsCollected: r.rowsCollected,
    epochs: r.epochs,
    seconds: r.seconds,
    activationsPerSecond: r.activationsPerSecond,
    trainer: r.trainer,
  };
  return { summary, curve: r.curve, files: saeFilesTable(saeFiles(r.sae, modelName)) };
}

/**
 * Import SAELens files (or restore a kept result's files), evaluate unless told not to, and keep
 * the SAE.
 *
 * @throws ModelFormatError naming the file; CompatibilityError for a mismatched hook or d_in.
 */
export async function saeImportJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  store: SaeStore,
  request: SaeImportRequest,
  opts: { signal?: AbortSignal } = {},
): Promise<SaeJobResult> {
  if (isSaeLensTranscoder(request.files)) return transcoderImportJob(model, tokenizer, request, opts);
  const { sae, kind } = await loadSaeFiles(model, request.files, request.hook || undefined);
  const evaluation = await requestedEvaluation(model, tokenizer, sae, request, opts.signal);
  const saeId = store.keep(request.cellId, { model, sae, kind });
  return { summary: summaryOf(saeId, sae, kind, evaluation), files: saeFilesTable(request.files) };
}

/** Whether SAELens files hold a transcoder (cfg.json's architecture names one). */
export function isSaeLensTranscoder(files: Record<string, Uint8Array>): boolean {
  const cfg = files[SAELENS_CFG_FILE];
  if (!cfg) return false;
  try {
    const architecture = (JSON.parse(new TextDecoder().decode(cfg)) as { architecture?: unknown })
      .architecture;
    return typeof architecture === 'string' && architecture.includes('transcoder');
  } catch {
    return false; // the SAE reader names the malformed file
  }
}

/**
 * Import a SAELens transcoder or skip transcoder: check both its hooks against the model and
 * evaluate it spliced in place of the MLP output it predicts (evaluateTranscoder: loss recovered
 * against zero-ablating that output, explained variance, L0, SAELens's KL and CE scores). It is
 * not kept: the feature views read SAEs.
 *
 * @throws ModelFormatError naming the file; CompatibilityError for a hook or width the model lacks.
 */
export async function transcoderImportJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: SaeImportRequest,
  opts: { signal?: AbortSignal } = {},
): Promise<SaeJobResult> {
  const hook = request.hook || undefined;
  const raw = loadPretrainedSae(request.files, hook ? { hook } : {});
  const load = adaptPretrainedToModel(raw, model.config);
  if (load.type !== 'transcoder') throw new Error('unreachable: cfg.json names a transcoder');
  await checkPretrainedForModel(model, load, tokenizer.encode('', { bos: true }));
  const summary = await transcoderSummary(model, tokenizer, load, request, opts.signal);
  return { summary, files: saeFilesTable(request.files) };
}

/**
 * A transcoder checked against the model, as the SAE cell shows it: evaluated spliced in place of
 * its output hook unless told not to (a reload), with what it reads and writes.
 */
export async function transcoderSummary(
  model: LlamaModel,
  tokenizer: Tokenizer,
  load: Extract<PretrainedLoad, { type: 'transcoder' }>,
  request: { text: string; fileName?: string; evalWindows?: number; skipEvaluation?: boolean },
  signal?: AbortSignal,
): Promise<SaeSummary> {
  const t = load.transcoder;
  const evaluation =
    request.skipEvaluation || !request.text
      ? undefined
      : await evaluateTranscoder(model, tokenizer, request.text, t, {
          maxWindows: request.evalWindows ?? 2,
          fileName: request.fileName,
          signal,
        });
  const summary: SaeSummary = { saeId: '', hook: t.hookIn, kind: t.kind, dIn: t.dIn, dSae: t.dSae };
  if (t.k !== undefined) summary.k = t.k;
  if (evaluation) {
    const { firing_frequency: _omitted, ...rest } = evaluation;
    summary.evaluation = rest;
  }
  summary.transcoder = {
    architecture: load.info.architecture,
    hookOut: t.hookOut,
    dOut: t.dOut,
    skip: load.info.skip,
  };
  return summary;
}

/**
 * The held-out evaluation an import asks for: none when told to skip it (a reload) or given no
 * text, else over the text's first `evalWindows` windows (default 2).
 */
export async function requestedEvaluation(
  model: LlamaModel,
  tokenizer: Tokenizer,
  sae: LoadedSae,
  request: { text: string; fileName?: string; evalWindows?: number; skipEvaluation?: boolean },
  signal?: AbortSignal,
): Promise<SaeEvaluation | undefined> {
  if (request.skipEvaluation || !request.text) return undefined;
  return evaluateSae(model, tokenizer, request.text, sae, {
    maxWindows: request.evalWindows ?? 2,
    fileName: request.fileName,
    signal,
  });
}

/** What the features cell asks to browse. */
export interface SaeBrowseRequest extends SaeRef {
  text: string;
  fileName?: string;
  /** Windows scanned (default 8). */
  maxWindows?: number;
  /** Contexts kept per feature (default 8). */
  topN?: number;
}

export interface SaeBrowseSummary {
  tokens: number;
  windows: number;
  dSae: number;
  /** Latents that never fired on the browsed text. */
  silent: number;
}

/** The feature list of a kept SAE over a text; the browse is kept for the feature cards. */
export async function saeBrowseJob(
  tokenizer: Tokenizer,
  store: SaeStore,
  request: SaeBrowseRequest,
  opts: { signal?: AbortSignal; onProgress?: (p: { done: number; total: number }) => void } = {},
): Promise<{ list: Table; summary: SaeBrowseSummary }> {
  const kept = store.sae(request);
  const browser = await browseFeatures(kept.model, tokenizer, request.text, kept.sae, {
    maxWindows: request.maxWindows ?? 8,
    topN: request.topN ?? 8,
    fileName: request.fileName,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  kept.browser = browser;
  let silent = 0;
  for (const d of browser.density) if (d === 0) silent++;
  return {
    list: browser.list,
    summary: { tokens: browser.tokens, windows: browser.windows, dSae: kept.sae.cfg.dSae, silent },
  };
}

/** One feature's card. */
export interface FeatureCard {
  feature: number;
  density: number;
  maxActivation: number;
  contexts: FeatureContext[];
  histogram: { edges: number[]; counts: number[] };
  /** Absent when the SAE does not read the residual stream's width. */
  logits?: { positive: { token: string; logit: number }[]; negative: { token: string; logit: number }[] };
  logitsUnavailable?: string;
  nearest: { feature: number; cosine: number }[];
  /** The feature's Neuronpedia page, when the SAE has pages there (its Neuronpedia id is known). */
  neuronpedia?: string;
}

/** Contexts, histogram, logit effects and nearest features of one feature (after a browse). */
export async function saeFeatureJob(
  tokenizer: Tokenizer,
  store: SaeStore,
  request: SaeFeatureRequest,
): Promise<FeatureCard> {
  const kept = store.sae(request);
  const { feature } = request;
  const dSae = kept.sae.cfg.dSae;
  if (!(Number.isInteger(feature) && feature >= 0 && feature < dSae))
    throw new RangeError(`feature must be an integer in [0, ${dSae - 1}], got ${feature}`);
  const b = kept.browser;
  if (!b) throw new Error('browse the features first (run the features cell)');
  const bins = b.histogramEdges.length - 1;
  const card: FeatureCard = {
    feature,
    density: b.density[feature]!,
    maxActivation: b.maxActivation[feature]!,
    contexts: b.topContexts[feature] ?? [],
    histogram: {
      edges: Array.from(b.histogramEdges),
      counts: Array.from(b.histograms.subarray(feature * bins, (feature + 1) * bins)),
    },
    nearest: nearestFeatures(kept.sae, feature, 8),
  };
  const np = kept.sae.source?.neuronpedia;
  if (np) card.neuronpedia = neuronpediaFeatureUrl(np, feature);
  try {
    kept.unembedding ??= await readUnembedding(kept.model);
    const e = logitEffects(kept.sae, kept.unembedding, tokenizer, feature, 10);
    const strip = (l: { token: string; logit: number }) => ({ token: l.token, logit: l.logit });
    card.logits = { positive: e.positive.map(strip), negative: e.negative.map(strip) };
  } catch (e) {
    card.logitsUnavailable = (e as Error).message;
  }
  return card;
}

/** Which features fire on each token of a typed prompt. */
export async function saePromptJob(
  tokenizer: Tokenizer,
  store: SaeStore,
  request: SaePromptRequest,
): Promise<PromptToken[]> {
  const kept = store.sae(request);
  return promptLatents(kept.model, tokenizer, kept.sae, request.prompt, { top: request.top ?? 6 });
}

/** A steering / clamping request: greedy generation with and without the intervention. */
export interface SaeSteerRequest extends SaeRef {
  feature: number;
  /** add: x + value·W_dec[f] on every token; clamp: f set to value (error term kept). */
  mode: 'add' | 'clamp';
  value: number;
  prompt: string;
  /** New tokens (default 48). */
  tokens?: number;
}

export async function saeSteerJob(
  tokenizer: Tokenizer,
  store: SaeStore,
  request: SaeSteerRequest,
  opts: { signal?: AbortSignal } = {},
): Promise<{ baseline: string; steered: string }> {
  const kept = store.sae(request);
  const { feature, value } = request;
  if (!Number.isFinite(value)) throw new RangeError(`steering value must be a finite number, got ${value}`);
  const hook =
    request.mode === 'clamp' ? clampHook(kept.sae, feature, value) : steeringHook(kept.sae, feature, value);
  const promptTokens = tokenizer.encode(request.prompt, { bos: true }).length;
  const { baseline, steered } = await generateWithHook(kept.model, tokenizer, kept.sae, hook, {
    prompt: request.prompt,
    steps: promptTokens + (request.tokens ?? 48),
    temperature: 0,
    signal: opts.signal,
  });
  return { baseline: baseline.text, steered: steered.text };
}

/** The loss with one feature zero-ablated, against the clean loss. */
export async function saeAblateJob(
  tokenizer: Tokenizer,
  store: SaeStore,
  request: SaeAblateRequest,
  opts: { signal?: AbortSignal } = {},
): Promise<{ lossClean: number; lossAblated: number; delta: number; fired: number; tokens: number }> {
  const kept = store.sae(request);
  return featureAblationLoss(kept.model, tokenizer, request.text, kept.sae, request.feature, {
    maxWindows: request.maxWindows ?? 2,
    fileName: request.fileName,
    signal: opts.signal,
  });
}
