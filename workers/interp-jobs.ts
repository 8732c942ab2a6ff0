/**
 * The interpretability cells' work as the runtime worker runs it (runtime-api.ts wraps each in a
 * job): the logit lens, activation patching and direct logit attribution on one document or
 * prompt, and the activations explorer on one hook. Plain functions over a loaded model, so Node
 * tests call them on the CPU backend. Tables: analyses/interp/tables.ts.
 */
import type { Table } from 'apache-arrow';
import { activationStats } from '../analyses/interp/activation-stats';
import { directLogitAttribution } from '../analyses/interp/dla';
import { logitLens } from '../analyses/interp/logit-lens';
import { activationPatching, type PatchMetric } from '../analyses/interp/patching';
import {
  activationTables,
  chunkTable,
  dlaTable,
  logitLensTables,
  patchingTable,
  tokensTable,
} from '../analyses/interp/tables';
import { neuronChunkSparsity } from '../analyses/moe/neuron-chunk-sparsity';
import { tensorTable } from '../runtime/tensor-table';
import { parseHookName } from '../runtime/hooks';
import type { LlamaModel, Tokenizer } from '../runtime/index';
import { singleToken } from '../runtime/tokenizers/single-token';
import type { JobProgress } from './runtime-types';
import { tokenText } from '../runtime/tokenizers/token-text';

/** What every interp job gets besides its request. */
export interface InterpJobOptions {
  signal?: AbortSignal;
  onProgress?: (p: JobProgress) => void;
}

/** A job's answer: a plain summary and named Arrow tables (`K`: their names). */
export interface InterpJobResult<S, K extends string> {
  summary: S;
  tables: Record<K, Table>;
}

/** A document as the model reads it: BOS first, cut to the context (the summary says so). */
function documentTokens(model: LlamaModel, tokenizer: Tokenizer, text: string, source: string) {
  const all = tokenizer.encode(text, { bos: true, source });
  const tokens = all.subarray(0, model.config.seqLen);
  return { tokens, totalTokens: all.length, truncated: all.length > tokens.length };
}

/** Each token's text in context, for axes and the selection. */
function texts(tokenizer: Tokenizer, tokens: Int32Array): string[] {
  return Array.from(tokens, (t, i) => tokenText(tokenizer, i > 0 ? tokens[i - 1]! : -1, t));
}

// ── logit lens ───────────────────────────────────────────────────────────

export interface LogitLensJobRequest {
  /** One document (BOS is prepended; cut to the model's context). */
  text: string;
  /** Top tokens kept per position and layer (1–20). */
  topK: number;
}

export interface LogitLensJobSummary {
  nLayers: number;
  /** Positions read (the document's tokens but the last, which has no next token). */
  positions: number;
  truncated: boolean;
  totalTokens: number;
  /** KL(final ‖ layer) at the last boundary: 0 up to rounding (the lens reproduces the output). */
  finalKl: number;
}

/**
 * The logit lens over one document, every position kept: `layers`, `grid` and `tokens`.
 *
 * @example
 * const r = await logitLensJob(model, tok, { text: 'Once upon a time', topK: 5 });
 * r.tables.grid.numRows; // (tokens − 1) × (nLayers + 1)
 */
export async function logitLensJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: LogitLensJobRequest,
  options: InterpJobOptions = {},
): Promise<InterpJobResult<LogitLensJobSummary, 'layers' | 'grid' | 'tokens'>> {
  const { topK } = request;
  if (!Number.isInteger(topK) || topK < 1 || topK > 20)
    throw new RangeError(`top tokens must be an integer in [1, 20], got ${topK}`);
  const doc = documentTokens(model, tokenizer, request.text, 'text');
  if (doc.tokens.length < 2) throw new RangeError('the logit lens needs a document of at least one token');
  const r = await logitLens(model, doc.tokens, {
    maxWindows: 1,
    maxPositions: doc.tokens.length,
    topK,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const { layers, grid } = logitLensTables(r, (id) => tokenText(tokenizer, -1, id));
  return {
    summary: {
      nLayers: model.config.nLayers,
      positions: r.positions,
      truncated: doc.truncated,
      totalTokens: doc.totalTokens,
      finalKl: r.layers.at(-1)!.kl_to_final,
    },
    tables: { layers, grid, tokens: tokensTable(texts(tokenizer, doc.tokens)) },
  };
}

// ── activation patching ──────────────────────────────────────────────────

export interface PatchJobRequest {
  clean: string;
  corrupted: string;
  /** The answer token (text of one token, or `#ID`). */
  answer: string;
  /** The wrong token, for the logit-difference metric. */
  wrong: string;
  metric: 'logit-diff' | 'loss';
  /** A block hook point without the layer: `hook_resid_pre`, `attn.hook_z`, `hook_mlp_out`, … */
  hook: string;
  positions: 'all' | 'each';
  /** Per head (attn.hook_z / attn.hook_pattern only), all positions. */
  perHead: boolean;
}

export interface PatchJobSummary {
  hook: string;
  metric: 'logit-diff' | 'loss';
  clean: number;
  corrupted: number;
  nLayers: number;
  nHeads: number;
  tokens: number;
  answer: string;
  wrong: string;
}

/**
 * Patch `hook` from the clean run into the corrupted one: `restored` and `tokens` (the clean
 * prompt's, with `corrupted` beside where they differ).
 */
export async function patchJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: PatchJobRequest,
  options: InterpJobOptions = {},
): Promise<InterpJobResult<PatchJobSummary, 'restored' | 'tokens'>> {
  const clean = documentTokens(model, tokenizer, request.clean, 'clean prompt');
  const corrupted = documentTokens(model, tokenizer, request.corrupted, 'corrupted prompt');
  if (clean.truncated || corrupted.truncated)
    throw new RangeError(`the prompts must fit the model's context of ${model.config.seqLen} tokens`);
  const answer = singleToken(tokenizer, request.answer, 'answer');
  const metric: PatchMetric =
    request.metric === 'loss'
      ? { kind: 'loss', answer }
      : { kind: 'logit-diff', answer, wrong: singleToken(tokenizer, request.wrong, 'wrong token') };
  const r = await activationPatching(model, {
    clean: clean.tokens,
    corrupted: corrupted.tokens,
    metric,
    point: request.hook,
    positions: request.positions,
    perHead: request.perHead,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const cleanText = texts(tokenizer, clean.tokens);
  const corruptText = texts(tokenizer, corrupted.tokens);
  const labels = cleanText.map((t, i) => (t === corruptText[i] ? t : `${t}→${corruptText[i]}`));
  return {
    summary: {
      hook: r.point,
      metric: request.metric,
      clean: r.clean,
      corrupted: r.corrupted,
      nLayers: model.config.nLayers,
      nHeads: model.config.nHeads,
      tokens: clean.tokens.length,
      answer: tokenText(tokenizer, -1, answer),
      wrong: metric.kind === 'logit-diff' ? tokenText(tokenizer, -1, metric.wrong) : '',
    },
    tables: { restored: patchingTable(r), tokens: tokensTable(labels) },
  };
}

// ── direct logit attribution ─────────────────────────────────────────────

export interface DlaJobRequest {
  text: string;
  answer: string;
  wrong: string;
  /** Token position whose prediction is attributed; −1 = the last. */
  position: number;
}

export interface DlaJobSummary {
  position: number;
  total: number;
  logitDiff: number;
  logitDiffBeforeSoftcap: number;
  perHead: boolean;
  nLayers: number;
  nHeads: number;
  answer: string;
  wrong: string;
}

/** DLA of logit(answer) − logit(wrong) at one position: `parts` and `tokens`. */
export async function dlaJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: DlaJobRequest,
  options: InterpJobOptions = {},
): Promise<InterpJobResult<DlaJobSummary, 'parts' | 'tokens'>> {
  options.signal?.throwIfAborted();
  const doc = documentTokens(model, tokenizer, request.text, 'prompt');
  const answer = singleToken(tokenizer, request.answer, 'answer');
  const wrong = singleToken(tokenizer, request.wrong, 'wrong token');
  const position = request.position < 0 ? doc.tokens.length - 1 : request.position;
  options.onProgress?.({ done: 0, total: 1 });
  const r = await directLogitAttribution(model, doc.tokens, { answer, wrong, position });
  options.onProgress?.({ done: 1, total: 1 });
  return {
    summary: {
      position: r.position,
      total: r.total,
      logitDiff: r.logitDiff,
      logitDiffBeforeSoftcap: r.logitDiffBeforeSoftcap,
      perHead: r.perHead,
      nLayers: model.config.nLayers,
      nHeads: model.config.nHeads,
      answer: tokenText(tokenizer, -1, answer),
      wrong: tokenText(tokenizer, -1, wrong),
    },
    tables: { parts: dlaTable(r), tokens: tokensTable(texts(tokenizer, doc.tokens)) },
  };
}

// ── activations explorer ─────────────────────────────────────────────────

export interface ActivationsJobRequest {
  text: string;
  /** A full hook name, e.g. `blocks.1.hook_resid_post` or `blocks.0.mlp.hook_post`. */
  hook: string;
  /** |a| at or below which an activation counts as near zero (statistics). */
  nearZero: number;
  /** |mlp.hook_post| above which an FFN neuron is active (chunk sparsity; dense models only). */
  neuronThreshold: number;
}

export interface ActivationsJobSummary {
  hook: string;
  tokens: number;
  channels: number;
  medianAbs: number;
  nearZero: number;
  outlierChannels: number[];
  massiveCount: number;
  truncated: boolean;
  /** Why there is no `chunks` table (an MoE model), or ''. */
  chunkNote: string;
}

/** Chunk lengths of the FFN chunk-sparsity curve. */
export const ACTIVATION_CHUNKS = [1, 2, 4, 8, 16, 32, 64];

/**
 * One hook over one document: `values` (tensor table [tokens, channels]), `channels`, `massive`,
 * `token_sparsity`, `tokens`, and for a dense model `chunks` (FFN neuron sparsity per chunk).
 */
export async function activationsJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: ActivationsJobRequest,
  options: InterpJobOptions = {},
): Promise<
  InterpJobResult<ActivationsJobSummary, 'values' | 'channels' | 'massive' | 'token_sparsity' | 'tokens'> & {
    tables: { chunks?: Table };
  }
> {
  const { hook } = request;
  const parsed = parseHookName(hook);
  if (parsed === null || (parsed.layer !== null && parsed.layer >= model.config.nLayers))
    throw new RangeError(
      `${JSON.stringify(hook)} is not a hook point of ${model.name} (e.g. blocks.0.hook_resid_post)`,
    );
  // Pattern-like hooks are [heads, queries, keys]: not a tokens × channels matrix.
  if (/attn\.hook_(pattern|attn_scores|row_stats)$/.test(hook))
    throw new RangeError(
      `${hook} is per head [heads, tokens, keys]; the explorer reads [tokens, channels] hooks`,
    );
  const doc = documentTokens(model, tokenizer, request.text, 'text');
  const T = doc.tokens.length;
  const dense = !model.config.moe;
  const total = dense ? 2 : 1;
  options.onProgress?.({ done: 0, total });
  let values: Float32Array | undefined;
  let channels = 0;
  const out = await model.forward(doc.tokens, {
    hooks: {
      [hook]: async (t) => {
        // [tokens, …]: trailing dimensions (heads × head size) are flattened into channels.
        if (t.shape.length < 2 || t.shape[0] !== T)
          throw new RangeError(
            `${hook} has shape [${t.shape.join(', ')}]; the explorer needs [tokens, channels]`,
          );
        channels = t.shape.slice(1).reduce((a, b) => a * b, 1);
        values = await model.backend.read(t);
      },
    },
  });
  model.backend.dispose(out);
  options.signal?.throwIfAborted();
  if (!values) throw new Error(`${hook} was not reached in ${model.name}'s forward pass`);
  const stats = activationStats(values, T, channels, { nearZero: request.nearZero });
  options.onProgress?.({ done: 1, total });
  const tables: Record<'values' | 'channels' | 'massive' | 'token_sparsity' | 'tokens', Table> & {
    chunks?: Table;
  } = {
    values: tensorTable(hook, [T, channels], values),
    ...activationTables(stats),
    tokens: tokensTable(texts(tokenizer, doc.tokens)),
  };
  if (dense) {
    const r = await neuronChunkSparsity(model, doc.tokens, [0], {
      threshold: request.neuronThreshold,
      chunks: ACTIVATION_CHUNKS,
      signal: options.signal,
    });
    tables.chunks = chunkTable(r.layers);
    options.onProgress?.({ done: 2, total });
  }
  return {
    summary: {
      hook,
      tokens: T,
      channels,
      medianAbs: stats.medianAbs,
      nearZero: stats.nearZeroThreshold,
      outlierChannels: stats.outlierChannels,
      massiveCount: stats.massive.length,
      truncated: doc.truncated,
      chunkNote: dense
        ? ''
        : `${model.name} is a mixture-of-experts model: see the MoE cells for expert sparsity`,
    },
    tables,
  };
}
