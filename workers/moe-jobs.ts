/**
 * The MoE routing cell's work, as the runtime worker runs it (runtime-api.ts wraps it in a job and
 * sends its tables as Arrow IPC bytes): tokenize one text per domain, route it through the model
 * (analyses/moe) and keep the summary and tables. A plain function over a loaded model, so Node
 * tests call it directly on the CPU backend.
 */
import { Field, Float32, Int32, makeVector, Schema, type Table } from 'apache-arrow';
import { moeStats } from '../analyses/moe/index';
import type { LlamaModel, Tokenizer } from '../runtime/index';
import { buildTokenStream } from '../runtime/index';
import { TABLE_KIND_KEY, tableOf } from '../runtime/tables';
import { MAX_MOE_TOKENS, type JobProgress, type MoeRoutingSummary } from './runtime-types';

/** One domain's text, labelled (e.g. `literature` and the text of valid-literature.txt). */
export interface MoeDomainText {
  domain: string;
  text: string;
}

/** What the MoE routing cell asks for. */
export interface MoeRoutingRequest {
  /** One text per domain, in display order; domain names must be distinct. */
  domains: MoeDomainText[];
  /** Route at most this many tokens of each domain (its first ones), ≥ 1. */
  maxTokensPerDomain: number;
}

/**
 * Per-expert load: one row per (layer, expert), layers then experts ascending.
 *
 * - `layer` (int32), `expert` (int32).
 * - `load` (float32): share of the layer's token→expert assignments that went to this expert
 *   (sums to 1 over a layer's experts; 1/E is balanced).
 * - `kl` (float32): KL(expert's domain distribution ‖ corpus's) in nats; NaN for an unused expert.
 */
export const MOE_LOAD_COLUMNS = { layer: 'layer', expert: 'expert', load: 'load', kl: 'kl' } as const;

export const MOE_LOAD_SCHEMA = new Schema(
  [
    new Field(MOE_LOAD_COLUMNS.layer, new Int32(), false),
    new Field(MOE_LOAD_COLUMNS.expert, new Int32(), false),
    new Field(MOE_LOAD_COLUMNS.load, new Float32(), false),
    new Field(MOE_LOAD_COLUMNS.kl, new Float32(), false),
  ],
  new Map([[TABLE_KIND_KEY, 'moe-load']]),
);

export interface MoeRoutingResult {
  summary: MoeRoutingSummary;
  /** Domain × expert usage per layer (MOE_USAGE_COLUMNS). */
  usage: Table;
  /** One row per layer (MOE_LAYER_COLUMNS): router / load entropy, specialisation, max load. */
  layers: Table;
  /** One row per (layer, expert) (MOE_LOAD_COLUMNS). */
  load: Table;
}

/**
 * Route the first `maxTokensPerDomain` tokens of each domain's text and summarise (expert load,
 * router entropy, specialisation). Texts are tokenized as the CLI's `moe-stats` does (split on
 * `<|endoftext|>`, BOS per document), so both give the same numbers for the same budget.
 *
 * @example
 * const r = await moeRoutingJob(model, tok, { domains: [{ domain: 'code', text }], maxTokensPerDomain: 2048 });
 * r.summary.layers[0]!.specialisation; // nats
 * @throws Error naming the model when it has no MoE layers; RangeError for a bad request.
 */
export async function moeRoutingJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: MoeRoutingRequest,
  options: {
    /** Name for the summary and errors (default: the model's own). */
    modelName?: string;
    signal?: AbortSignal;
    onProgress?: (p: JobProgress) => void;
  } = {},
): Promise<MoeRoutingResult> {
  const modelName = options.modelName ?? model.name;
  if (!model.config.moe)
    throw new Error(
      `MoE routing needs a mixture-of-experts model; ${modelName} has no MoE layers (it is dense)`,
    );
  const { maxTokensPerDomain: max, domains } = request;
  if (!Number.isInteger(max) || max < 1 || max > MAX_MOE_TOKENS)
    throw new RangeError(`maxTokensPerDomain must be an integer in [1, ${MAX_MOE_TOKENS}], got ${max}`);
  if (domains.length === 0) throw new RangeError('give at least one domain text');
  const streams = domains.map((d) => {
    const s = buildTokenStream(tokenizer, d.text, d.domain);
    if (s.tokens.length === 0) throw new RangeError(`the ${d.domain} text is empty`);
    return { domain: d.domain, tokens: s.tokens };
  });
  options.signal?.throwIfAborted();
  const t0 = performance.now();
  const r = await moeStats(model, streams, {
    maxTokensPerDomain: max,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const summary: MoeRoutingSummary = { ...r.summary, model: modelName, ms: performance.now() - t0 };
  return { summary, usage: r.usage, layers: r.layers, load: moeLoadTable(summary) };
}

/** The per-expert load table of a summary (MOE_LOAD_COLUMNS). */
export function moeLoadTable(s: Pick<MoeRoutingSummary, 'layers' | 'nExperts'>): Table {
  const E = s.nExperts;
  const n = s.layers.length * E;
  return tableOf(MOE_LOAD_SCHEMA, n, [
    makeVector(Int32Array.from({ length: n }, (_, i) => s.layers[Math.floor(i / E)]!.layer)),
    makeVector(Int32Array.from({ length: n }, (_, i) => i % E)),
    makeVector(Float32Array.from({ length: n }, (_, i) => s.layers[Math.floor(i / E)]!.load[i % E]!)),
    makeVector(
      Float32Array.from({ length: n }, (_, i) => s.layers[Math.floor(i / E)]!.expertKl[i % E] ?? NaN),
    ),
  ]);
}
