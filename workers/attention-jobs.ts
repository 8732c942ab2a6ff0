/**
 * The attention cells' work, as the runtime worker runs it (runtime-api.ts wraps each function in
 * a job and sends its tables as Arrow IPC bytes): probes of every head over a text, and one mask
 * family applied to one document's attention. Plain functions over a loaded model, so Node tests
 * call them directly on the CPU backend.
 */
import { makeVector, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { maskDensity, maskRecall } from '../analyses/attention/mask-metrics';
import {
  buildMask,
  calibrateChannels,
  defaultChannelRank,
  maskFamily,
  type MaskOptions,
} from '../analyses/attention/masks/index';
import { probeAttention } from '../analyses/attention/probes';
import { qkHooks } from '../analyses/attention/qk-hooks';
import { evaluateMask, sweepMasks } from '../analyses/attention/mask-sweep';
import type { LayerPattern, LayerQK } from '../analyses/attention/types';
import type { LlamaModel, Tokenizer } from '../runtime/index';
import { tensorTable } from '../runtime/tensor-table';
import { tokenLossTable } from '../runtime/tables';
import { buildTokenStream } from '../runtime/text';
import type { JobProgress, MaskJobSummary, ProbeJobSummary, SweepJobSummary } from './runtime-types';
import { tokenText } from '../runtime/tokenizers/token-text';

/** What the probes cell asks for. */
export interface ProbeJobRequest {
  text: string;
  /** Windows of the text to run (the first ones), ≥ 1. */
  maxWindows: number;
  /** Name of the text for error messages. */
  fileName?: string;
}

/** Probe tables (HEAD_PROBE_COLUMNS, POSITION_PROBE_COLUMNS) and a plain summary. */
export interface ProbeJobResult {
  heads: Table;
  positions: Table;
  summary: ProbeJobSummary;
}

/**
 * Probe every head over the first `maxWindows` windows of the text.
 *
 * @example
 * const r = await probeJob(model, tok, { text, maxWindows: 2 }, { signal });
 * r.heads.numRows; // nLayers × nHeads
 */
export async function probeJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: ProbeJobRequest,
  options: { signal?: AbortSignal; onProgress?: (p: JobProgress) => void } = {},
): Promise<ProbeJobResult> {
  const { maxWindows } = request;
  if (!Number.isInteger(maxWindows) || maxWindows < 1)
    throw new RangeError(`maxWindows must be a positive integer, got ${maxWindows}`);
  const r = await probeAttention(model, tokenizer, request.text, {
    maxWindows,
    signal: options.signal,
    onProgress: options.onProgress,
    fileName: request.fileName,
  });
  const s = r.summary;
  // Only what the view lists: HeadProbe carries arrays per head that the heads table already has.
  const brief = (h: (typeof s.heads)[number]) => ({
    layer: h.layer,
    head: h.head,
    sinkMass: h.sinkMass,
    meanDistance: h.meanDistance,
  });
  return {
    heads: r.heads,
    positions: r.positions,
    summary: {
      windows: s.windows,
      tokens: s.tokens,
      nLayers: s.nLayers,
      nHeads: s.nHeads,
      nSink: s.nSink,
      sinkHeads: s.sinkHeads.map(brief),
      localHeads: s.localHeads.map(brief),
    },
  };
}

/** What the mask cell asks for. */
export interface MaskJobRequest {
  /** The document to look at (BOS is prepended; cut to the model's context). */
  text: string;
  /**
   * Held-out text for the `channel` family's calibration (other documents of the same text).
   * Absent or empty: the first half of the document's tokens is used, which overlaps the scored
   * window (the summary says so).
   */
  calibrationText?: string;
  family: string;
  /** Share of causal entries kept in (0, 1]; for share-or-keys families a value > 1 is keys per query. */
  budget: number;
  layer: number;
  head: number;
}

/** Per-head mask metrics: head (int32), density, recall, dropped_mass (float32). */
export const MASK_HEAD_COLUMNS = {
  head: 'head',
  density: 'density',
  recall: 'recall',
  droppedMass: 'dropped_mass',
} as const;

export interface MaskJobResult {
  /** Tensor table [T, T]: the chosen head's dense attention probabilities. */
  pattern: Table;
  /** Tensor table [T, T]: 1 where the mask keeps the entry, 0 elsewhere. */
  mask: Table;
  /** One row per head of the layer (MASK_HEAD_COLUMNS). */
  heads: Table;
  /** One column `token` (utf8): each position's text, for axis labels. */
  tokens: Table;
  summary: MaskJobSummary;
}

/**
 * One forward pass on the document, capturing `layer`'s rotated q/k and its pattern; build the
 * family's mask for every head of that layer and measure density and recall.
 *
 * @example
 * const r = await maskJob(model, tok, { text, family: 'topk', budget: 0.25, layer: 1, head: 0 });
 * r.summary.density; // ≈ 0.25
 */
export async function maskJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: MaskJobRequest,
  signal?: AbortSignal,
): Promise<MaskJobResult> {
  const { nLayers, nHeads, seqLen } = model.config;
  const { layer, head, budget } = request;
  const family = maskFamily(request.family); // throws naming the known families
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayers)
    throw new RangeError(`layer must be an integer in [0, ${nLayers - 1}], got ${layer}`);
  if (!Number.isInteger(head) || head < 0 || head >= nHeads)
    throw new RangeError(`head must be an integer in [0, ${nHeads - 1}], got ${head}`);
  if (!(budget > 0) || (budget > 1 && family.budget === 'share'))
    throw new RangeError(
      `budget must be in (0, 1]${family.budget === 'share' ? '' : ' or a number of keys > 1'} for ${family.id}, got ${budget}`,
    );
  const all = tokenizer.encode(request.text, { bos: true, source: 'text' });
  if (all.length < 2) throw new RangeError('the document is empty: nothing to attend to');
  const tokens = all.length > seqLen ? all.subarray(0, seqLen) : all;
  signal?.throwIfAborted();
  const { qk, pattern } = await captureLayer(model, tokens, layer);

  const options: MaskOptions = { pattern };
  let calibration: MaskJobSummary['calibration'] = 'none';
  if (family.id === 'channel') {
    const held = request.calibrationText?.trim()
      ? tokenizer.encode(request.calibrationText, { bos: true, source: 'text' }).subarray(0, seqLen)
      : undefined;
    calibration = held && held.length >= 2 ? 'other documents' : 'first half of the document';
    const calTokens =
      calibration === 'other documents' ? held! : tokens.subarray(0, Math.max(2, tokens.length >> 1));
    signal?.throwIfAborted();
    const cal = await captureLayer(model, calTokens, layer);
    options.calibration = calibrateChannels([cal.qk], defaultChannelRank(qk.headDim));
  }
  signal?.throwIfAborted();
  const masks = buildMask(family.id, qk, budget, options);
  const density = maskDensity(masks);
  const recall = maskRecall(masks, pattern);

  const T = tokens.length;
  const one = pattern.probs.slice(head * T * T, (head + 1) * T * T);
  const keep = Float32Array.from(masks.keep.subarray(head * T * T, (head + 1) * T * T));
  const heads = new Table({
    [MASK_HEAD_COLUMNS.head]: makeVector(Int32Array.from({ length: nHeads }, (_, h) => h)),
    [MASK_HEAD_COLUMNS.density]: makeVector(Float32Array.from(density.perHead)),
    [MASK_HEAD_COLUMNS.recall]: makeVector(Float32Array.from(recall.perHead)),
    [MASK_HEAD_COLUMNS.droppedMass]: makeVector(Float32Array.from(recall.perHead, (r) => 1 - r)),
  });
  const texts = Array.from(tokens, (t, i) =>
    tokenText(tokenizer, i > 0 ? tokens[i - 1]! : tokenizer.documentToken, t),
  );
  return {
    pattern: tensorTable(`blocks.${layer}.attn.hook_pattern[${head}]`, [T, T], one),
    mask: tensorTable(`${family.id} mask`, [T, T], keep),
    heads,
    tokens: new Table({ token: vectorFromArray(texts, new Utf8()) }),
    summary: {
      family: family.id,
      budget,
      layer,
      head,
      T,
      truncated: all.length > seqLen,
      totalTokens: all.length,
      density: density.overall,
      recall: recall.overall,
      headDensity: density.perHead[head]!,
      headRecall: recall.perHead[head]!,
      calibration,
    },
  };
}

/** One document scored dense and with a mask family at a budget in every layer. */
export interface MaskTokenLossRequest {
  /** The document's text (one document: no `<|endoftext|>` inside). */
  text: string;
  family: string;
  budget: number;
  /** `channel`: held-out text to calibrate on (other documents); default the document itself. */
  calibrationText?: string;
}

/**
 * The mask cell's answer to the notebook's selection: every token's loss in BOS + `text`, dense and
 * with the family's mask at `budget` applied in every layer and head (`evaluateMask`, as the sweep
 * scores a point): `dense` and `masked`, token-loss tables (TOKEN_LOSS_SCHEMA), position 0 the
 * document token. Their means are the point's dense and masked loss on this document.
 *
 * @example
 * const r = await maskTokenLossJob(model, tok, { text, family: 'topk', budget: 0.25 });
 * r.masked.getChild('loss')!.get(5)! - r.dense.getChild('loss')!.get(5)!; // token 5's loss change
 */
export async function maskTokenLossJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: MaskTokenLossRequest,
  signal?: AbortSignal,
): Promise<{
  dense: Table;
  masked: Table;
  summary: { family: string; budget: number; tokens: number; denseLoss: number; loss: number };
}> {
  const family = maskFamily(request.family); // throws naming the known families
  const { budget } = request;
  if (!(budget > 0) || (budget > 1 && family.budget === 'share'))
    throw new RangeError(
      `budget must be in (0, 1]${family.budget === 'share' ? '' : ' or a number of keys > 1'} for ${family.id}, got ${budget}`,
    );
  const { tokens } = buildTokenStream(tokenizer, request.text, 'document');
  if (tokens.length < 2) throw new RangeError('the document has no token after its first to score');
  const held = request.calibrationText?.trim() ? request.calibrationText : request.text;
  const e = await evaluateMask(model, tokenizer, request.text, family.id, budget, {
    perToken: true,
    ...(family.id === 'channel' ? { calibrationText: held } : {}),
    ...(signal ? { signal } : {}),
    fileName: 'document',
  });
  const { dense, masked } = e.token_losses!;
  if (dense.length !== tokens.length - 1 || masked.length !== tokens.length - 1)
    throw new Error(`scored ${masked.length} targets of a document of ${tokens.length} tokens`);
  const texts = Array.from(tokens, (t, i) =>
    tokenText(tokenizer, i > 0 ? tokens[i - 1]! : tokenizer.documentToken, t),
  );
  const table = (losses: Float32Array) => tokenLossTable({ tokenIds: tokens, tokens: texts, losses });
  return {
    dense: table(dense),
    masked: table(masked),
    summary: { family: family.id, budget, tokens: tokens.length, denseLoss: e.dense_loss, loss: e.loss },
  };
}

/** What the sweep cell asks for. */
export interface SweepJobRequest {
  text: string;
  families: string[];
  budgets: number[];
  /** Loss windows scored per point, ≥ 1. */
  maxWindows: number;
  fileName?: string;
}

/**
 * Every family × budget on the text's first windows (analyses/attention/mask-sweep.ts): the
 * curves table (SWEEP_COLUMNS: family, budget, density, recall, loss, loss_increase, attn_flops,
 * kv_bytes, …), the per-head table (SWEEP_HEAD_COLUMNS, what `bestConfig` exports per head) and
 * the dense loss. Progress counts points.
 *
 * @example
 * const r = await sweepJob(model, tok, { text, families: ['topk'], budgets: [0.25, 1], maxWindows: 1 });
 */
export async function sweepJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: SweepJobRequest,
  options: { signal?: AbortSignal; onProgress?: (p: JobProgress) => void } = {},
): Promise<{ points: Table; heads: Table; summary: SweepJobSummary }> {
  const { maxWindows, families, budgets } = request;
  if (!Number.isInteger(maxWindows) || maxWindows < 1)
    throw new RangeError(`maxWindows must be a positive integer, got ${maxWindows}`);
  if (families.length === 0) throw new RangeError('pick at least one mask family');
  for (const b of budgets) if (!(b > 0)) throw new RangeError(`budgets must be positive, got ${b}`);
  const r = await sweepMasks(model, tokenizer, request.text, {
    families,
    budgets,
    maxWindows,
    signal: options.signal,
    fileName: request.fileName,
    onProgress: (p) => options.onProgress?.({ done: p.done, total: p.total }),
  });
  return {
    points: r.points,
    heads: r.heads,
    summary: { denseLoss: r.denseLoss, windows: r.windows, tokens: r.tokens, calibration: r.calibration },
  };
}

/** Forward `tokens` and keep one layer's scored (rotated, where the model rotates) q/k and attention pattern. */
async function captureLayer(
  model: LlamaModel,
  tokens: Int32Array,
  layer: number,
): Promise<{ qk: LayerQK; pattern: LayerPattern }> {
  const { nHeads, nKvHeads, headDim } = model.config;
  const b = model.backend;
  let q: Promise<Float32Array> | undefined;
  let k: Promise<Float32Array> | undefined;
  let p: Promise<Float32Array> | undefined;
  // Reads are issued inside the hooks (the tensors are freed after them) and awaited afterwards.
  const names = qkHooks(model.config, layer);
  const out = await model.forward(tokens, {
    hooks: {
      [names.q]: (t) => void (q = b.read(t)),
      [names.k]: (t) => void (k = b.read(t)),
      [`blocks.${layer}.attn.hook_pattern`]: (t) => void (p = b.read(t)),
    },
  });
  b.dispose(out);
  const T = tokens.length;
  const qk: LayerQK = { layer, T, nHeads, nKvHeads, headDim, q: await q!, k: await k! };
  return { qk, pattern: { layer, T, nHeads, probs: await p! } };
}
