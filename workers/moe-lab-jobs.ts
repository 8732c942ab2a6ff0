/**
 * The MoE lab's worker jobs (runtime-api.ts wraps each in a job): the routing report of a model
 * over texts — or of a routing log read from Parquet files or URLs without the model —, the
 * auxiliary-loss-free balancing simulation with its loss change, and routing interventions with
 * an expert-pruning sweep. Plain functions over a loaded model, so Node tests call them directly.
 */
import type { Table } from 'apache-arrow';
import { asyncBufferFromUrl } from 'hyparquet';
import {
  collectRoutingLog,
  expertImportance,
  expertPruningSweep,
  expertPruningTable,
  moeBalanceStepsTable,
  moeBalanceTable,
  moeChunkTable,
  moeCoactivationTable,
  moeLogReport,
  moeTokenExpertTable,
  moeUsageTable,
  moeLayerTable,
  moeVocabularyTable,
  readRoutingLog,
  routingCountsFromLog,
  simulateAuxFree,
  type AuxFreeOptions,
  type ExpertImportance,
  type MicroBatchScope,
  type MoeLogReport,
  type RoutingLog,
  type RoutingLogFile,
} from '../analyses/moe/index';
import { evaluateLoss, buildTokenStream, type LlamaModel, type Tokenizer } from '../runtime/index';
import type { MoeInterventions } from '../runtime/model/moe-interventions';
import { tokenText } from '../runtime/tokenizers/token-text';
import type { JobProgress } from './runtime-types';

/** Where the routing comes from: the model over labelled texts, or a routing log. */
export type MoeLabSource =
  | {
      kind: 'texts';
      domains: { domain: string; text: string }[];
      maxTokensPerDomain: number;
      interventions?: MoeInterventions;
    }
  | { kind: 'log-files'; files: { name: string; bytes: Uint8Array }[] }
  | { kind: 'log-urls'; urls: string[] };

export interface MoeLabRequest {
  source: MoeLabSource;
  microBatch?: MicroBatchScope;
  chunks?: number[];
  /** Tokens shown in the token → expert map (default 256). */
  mapTokens?: number;
}

export interface MoeLabSummary {
  report: MoeLogReport;
  source: string;
  /** Display text of the first `mapTokens` tokens (ids as `#id` when no tokenizer is at hand). */
  pieces: string[];
  /** Display text of the token ids in the vocabulary lists (when a tokenizer is at hand). */
  tokenPieces?: Record<number, string>;
}

export interface MoeLabTables {
  usage: Table;
  layers: Table;
  coactivation: Table;
  balance: Table;
  chunks: Table;
  tokenExpert: Table;
  vocabulary: Table;
  [name: string]: Table;
}

interface Job {
  signal: AbortSignal;
  onProgress(p: JobProgress): void;
}

/**
 * The routing report and its tables.
 *
 * @example
 * const r = await moeLabJob(model, tok, { source: { kind: 'texts', domains, maxTokensPerDomain: 2048 } }, ctx);
 * r.summary.report.lbl_micro;
 */
export async function moeLabJob(
  loaded: { model: LlamaModel; tokenizer: Tokenizer; modelName: string } | undefined,
  request: MoeLabRequest,
  job: Job,
): Promise<{ summary: MoeLabSummary; tables: MoeLabTables }> {
  const log = await routingLogOf(loaded, request.source, job);
  const report = moeLogReport(log, { microBatch: request.microBatch, chunks: request.chunks });
  const mapTokens = Math.min(request.mapTokens ?? 256, log.tokenId.length);
  const pieces = Array.from(log.tokenId.subarray(0, mapTokens), (id) =>
    loaded && request.source.kind === 'texts' ? loaded.tokenizer.piece(id) : `#${id}`,
  );
  const tokenPieces: Record<number, string> = {};
  if (loaded && request.source.kind === 'texts') {
    for (const l of report.log_layers)
      for (const e of l.vocabulary.experts)
        for (const t of e.tokens) tokenPieces[t.tokenId] ??= loaded.tokenizer.piece(t.tokenId);
  }
  return {
    summary: {
      report,
      source: log.source,
      pieces,
      ...(Object.keys(tokenPieces).length ? { tokenPieces } : {}),
    },
    tables: {
      usage: moeUsageTable(routingCountsFromLog(log)),
      layers: moeLayerTable(report),
      coactivation: moeCoactivationTable(report),
      balance: moeBalanceTable(report),
      chunks: moeChunkTable(report),
      tokenExpert: moeTokenExpertTable(log, mapTokens),
      vocabulary: moeVocabularyTable(report),
    },
  };
}

async function routingLogOf(
  loaded: { model: LlamaModel; tokenizer: Tokenizer; modelName: string } | undefined,
  source: MoeLabSource,
  job: Job,
): Promise<RoutingLog> {
  if (source.kind === 'texts') {
    if (!loaded) throw new Error('routing texts needs a loaded mixture-of-experts model');
    if (source.domains.length === 0) throw new RangeError('give at least one text');
    const streams = source.domains.map((d) => {
      const s = buildTokenStream(loaded.tokenizer, d.text, d.domain);
      if (s.tokens.length === 0) throw new RangeError(`the ${d.domain} text is empty`);
      return { domain: d.domain, tokens: s.tokens, documentStarts: s.documentStarts };
    });
    const log = await collectRoutingLog(loaded.model, streams, {
      maxTokensPerDomain: source.maxTokensPerDomain,
      moe: source.interventions,
      signal: job.signal,
      onProgress: job.onProgress,
    });
    log.source = loaded.modelName;
    return log;
  }
  const files: RoutingLogFile[] =
    source.kind === 'log-files'
      ? source.files.map((f) => ({ name: f.name, buffer: bytesBuffer(f.bytes) }))
      : await Promise.all(
          source.urls.map(async (url) => ({ name: url, buffer: await asyncBufferFromUrl({ url }) })),
        );
  return readRoutingLog(files, { signal: job.signal, onProgress: job.onProgress });
}

function bytesBuffer(bytes: Uint8Array) {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { byteLength: ab.byteLength, slice: (s: number, e?: number) => ab.slice(s, e) };
}

export interface MoeBalanceRequest extends AuxFreeOptions {
  text: string;
  fileName?: string;
  /** Tokens routed for the simulation (the text's first ones). */
  maxTokens: number;
}

export interface MoeBalanceSummary {
  model: string;
  tokens: number;
  rate: number;
  stepTokens: number;
  epochs: number;
  maxOverMeanBefore: number;
  maxOverMeanAfter: number;
  moved: number;
  lossBefore: number;
  lossAfter: number;
  layers: {
    layer: number;
    bias: number[];
    maxOverMeanBefore: number;
    maxOverMeanAfter: number;
    moved: number;
  }[];
}

/** Simulate aux-free balancing on the text's routing, then the loss with the final biases applied. */
export async function moeBalanceJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  modelName: string,
  request: MoeBalanceRequest,
  job: Job,
): Promise<{ summary: MoeBalanceSummary; tables: { steps: Table } }> {
  const s = buildTokenStream(tokenizer, request.text, request.fileName);
  const log = await collectRoutingLog(
    model,
    [{ domain: 'text', tokens: s.tokens, documentStarts: s.documentStarts }],
    {
      maxTokensPerDomain: request.maxTokens,
      signal: job.signal,
      onProgress: (p) => job.onProgress({ done: p.done, total: p.total * 3 }),
    },
  );
  const sim = simulateAuxFree(log, request);
  const third = (k: number) => (p: { done: number; total: number }) =>
    job.onProgress({ done: (k * p.total + p.done) / 3, total: p.total });
  const biased: MoeInterventions = {
    layers: Object.fromEntries(sim.layers.map((l, i) => [log.layerIds[i]!, { expertBias: l.bias }])),
  };
  const opts = { fileName: request.fileName, signal: job.signal };
  const before = await evaluateLoss(model, tokenizer, request.text, { ...opts, onProgress: third(1) });
  const after = await evaluateLoss(model, tokenizer, request.text, {
    ...opts,
    moe: biased,
    onProgress: third(2),
  });
  return {
    summary: {
      model: modelName,
      tokens: log.tokenId.length,
      rate: sim.rate,
      stepTokens: sim.stepTokens,
      epochs: sim.epochs,
      maxOverMeanBefore: sim.maxOverMeanBefore,
      maxOverMeanAfter: sim.maxOverMeanAfter,
      moved: sim.moved,
      lossBefore: before.loss,
      lossAfter: after.loss,
      layers: sim.layers.map((l, i) => ({
        layer: log.layerIds[i]!,
        bias: l.bias,
        maxOverMeanBefore: l.maxOverMeanBefore,
        maxOverMeanAfter: l.maxOverMeanAfter,
        moved: l.moved,
      })),
    },
    tables: { steps: moeBalanceStepsTable(sim, log.layerIds) },
  };
}

export interface MoeInterventionRequest {
  text: string;
  fileName?: string;
  interventions?: MoeInterventions;
  /** Expert pruning sweep: importance measured on `calibrationText`, loss on `text`. */
  pruning?: { by: ExpertImportance; drops: number[]; calibrationText: string };
}

export interface MoeInterventionSummary {
  model: string;
  lossBase: number;
  /** With the interventions (absent when none were given). */
  lossIntervened?: number;
  pruning?: {
    by: ExpertImportance;
    points: { dropped: number; kept: number; loss: number; disabled: number[][] }[];
  };
}

/** The loss with routing interventions against the plain model, and the expert-pruning curve. */
export async function moeInterventionJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  modelName: string,
  request: MoeInterventionRequest,
  job: Job,
): Promise<{ summary: MoeInterventionSummary; tables: { pruning?: Table } }> {
  const opts = { fileName: request.fileName, signal: job.signal };
  const steps =
    1 + (request.interventions ? 1 : 0) + (request.pruning ? 1 + request.pruning.drops.length : 0);
  let done = 0;
  const tick = () => job.onProgress({ done: ++done, total: steps });
  const base = await evaluateLoss(model, tokenizer, request.text, opts);
  tick();
  const summary: MoeInterventionSummary = { model: modelName, lossBase: base.loss };
  if (request.interventions) {
    summary.lossIntervened = (
      await evaluateLoss(model, tokenizer, request.text, { ...opts, moe: request.interventions })
    ).loss;
    tick();
  }
  let pruning: Table | undefined;
  if (request.pruning) {
    const { by, drops, calibrationText } = request.pruning;
    const cal = buildTokenStream(tokenizer, calibrationText, 'calibration');
    const log = await collectRoutingLog(
      model,
      [{ domain: 'calibration', tokens: cal.tokens, documentStarts: cal.documentStarts }],
      {
        signal: job.signal,
      },
    );
    tick();
    const points = await expertPruningSweep(
      model,
      tokenizer,
      request.text,
      expertImportance(log, by),
      drops,
      {
        ...opts,
        onProgress: tick,
      },
    );
    summary.pruning = { by, points };
    pruning = expertPruningTable(points);
  }
  return { summary, tables: pruning ? { pruning } : {} };
}

/** One token of one document, routed: the notebook's selection as a MoE cell answers it. */
export interface MoeTokenRouteRequest {
  /** The document's text (one document: no `<|endoftext|>` inside). */
  text: string;
  /** Token position in the document as the model sees it (0 = its document token). */
  position: number;
}

export interface MoeTokenRoute {
  position: number;
  tokenId: number;
  /** The token's text (decoded after the token before it). */
  token: string;
  /** Tokens in the document (the model's context may have cut it). */
  documentTokens: number;
  nExperts: number;
  topK: number;
  /** Per MoE layer: the chosen experts, best first, and their gate weights. */
  layers: { layer: number; experts: number[]; gates: number[] }[];
  /**
   * The document's token → expert map (cut to the model's context): each token's text, and per
   * MoE layer each token's first-choice expert.
   */
  map: { tokens: string[]; experts: number[][] };
}

/**
 * The experts that route one token of a document, per layer, and the document's token → expert
 * map: the document (cut to the model's context) through the model's routers.
 *
 * @example
 * const r = await moeTokenRouteJob(model, tok, { text: 'Once upon a time', position: 3 }, ctx);
 * r.layers[0].experts; // [5, 2]
 * @throws RangeError for a position past the document or the model's context.
 */
export async function moeTokenRouteJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: MoeTokenRouteRequest,
  job: { signal?: AbortSignal } = {},
): Promise<MoeTokenRoute> {
  const { position } = request;
  const s = buildTokenStream(tokenizer, request.text, 'selected document');
  const T = s.tokens.length;
  if (!Number.isInteger(position) || position < 0 || position >= T)
    throw new RangeError(`position must be an integer in [0, ${T - 1}] for this document, got ${position}`);
  if (position >= model.config.seqLen)
    throw new RangeError(`position ${position} is past the model's context of ${model.config.seqLen} tokens`);
  // The whole document in one window (its first seqLen tokens): the map, and the token in it.
  const tokens = s.tokens.subarray(0, Math.min(T, model.config.seqLen));
  const log = await collectRoutingLog(
    model,
    [{ domain: 'selection', tokens, documentStarts: [0] }],
    job.signal ? { signal: job.signal } : {},
  );
  const k = log.topK;
  const t = position;
  const tokenId = log.tokenId[t]!;
  return {
    position,
    tokenId,
    token: tokenText(tokenizer, t > 0 ? log.tokenId[t - 1]! : -1, tokenId),
    documentTokens: T,
    nExperts: log.nExperts,
    topK: k,
    layers: log.layers.map((l, i) => ({
      layer: log.layerIds[i]!,
      experts: Array.from(l.experts.subarray(t * k, t * k + k)),
      gates: Array.from(l.gates.subarray(t * k, t * k + k)),
    })),
    map: {
      tokens: Array.from(tokens, (id, i) => tokenText(tokenizer, i > 0 ? tokens[i - 1]! : -1, id)),
      experts: log.layers.map((l) => Array.from(tokens, (_, i) => l.experts[i * k]!)),
    },
  };
}
