/**
 * What each sparse-attention mask costs on a text: the loss with the mask applied inside the
 * forward pass (`maskedLoss`), its density and recall overall and per head, and what it saves in
 * attention FLOPs and KV-cache bytes (mask-costs.ts). `evaluateMask` measures one (family, budget)
 * point; `sweepMasks` measures a grid and returns Arrow tables for the accuracy–efficiency curves.
 */
import type { Table } from 'apache-arrow';
import type { Hooks } from '../../runtime/hooks';
import { evaluateLoss } from '../../runtime/eval/loss';
import type { LlamaModel } from '../../runtime/model/llama';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { attentionFlops, kvBytes, residentRows, sparseKvBytes } from './mask-costs';
import { maskSelectionFlops, type SelectionShape } from './selection-costs';
import { maskDensity, maskRecall } from './mask-metrics';
import { maskedLoss } from './masked-loss';
import {
  buildMask,
  causalEntries,
  keptElements,
  maskFamily,
  MASK_FAMILIES,
  type MaskFamilyId,
  type MaskOptions,
} from './masks';
import { prepareText } from '../../runtime/scored-text';
import { calibrateForChannels } from './sweep-text';
import { sweepHeadTable, sweepTable, type SweepHeadRow, type SweepRow } from './sweep-tables';

export interface MaskEvalOptions {
  /** Score at most this many loss windows (the longest prefix of the text that fits); default all. */
  maxWindows?: number;
  /** channel: held-out text to calibrate on. Default: the first tenth of the text's documents
   * (at least one), and every family is then scored on the rest. */
  calibrationText?: string;
  /** channel: channels kept per head (default max(2, round(headDim / 16)), Double Sparsity's d/16). */
  channels?: number;
  /** Family options (sinks, blockSize, chunkSize, windows, …); calibration and pattern are filled in. */
  mask?: Omit<MaskOptions, 'calibration' | 'pattern'>;
  /** Layers to mask (default all). */
  layers?: readonly number[];
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
  fileName?: string;
  /** Also return each target's dense and masked loss (`MaskEvaluation.token_losses`). */
  perToken?: boolean;
}

/** One measured point, JSON-serialisable (snake_case like the tables). */
export interface MaskEvaluation extends SweepRow {
  family: MaskFamilyId;
  dense_loss: number;
  windows: number;
  tokens: number;
  kept_entries: number;
  causal_entries: number;
  /** Where the channel calibration came from, or null for other families. */
  calibration: string | null;
  per_head: SweepHeadRow[];
  /**
   * With `perToken`: each target's loss dense and masked, in the order of the scored text's token
   * stream (`LossResult.perToken`).
   */
  token_losses?: { dense: Float32Array; masked: Float32Array };
}

/** A prepared evaluation: scored text, dense loss and (when needed) channel calibration. */
interface Context {
  model: LlamaModel;
  tokenizer: Tokenizer;
  text: string;
  denseLoss: number;
  densePerToken?: Float32Array;
  calibration: Awaited<ReturnType<typeof calibrateForChannels>> | null;
  options: MaskEvalOptions;
}

async function prepare(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  families: readonly MaskFamilyId[],
  options: MaskEvalOptions,
): Promise<Context> {
  const needsCalibration = families.includes('channel');
  const t = prepareText(tokenizer, text, model.config.seqLen, {
    maxWindows: options.maxWindows,
    splitCalibration: needsCalibration && options.calibrationText === undefined,
    fileName: options.fileName,
  });
  const calibration = needsCalibration
    ? await calibrateForChannels(model, tokenizer, options.calibrationText ?? t.calibrationText!, {
        channels: options.channels,
        source:
          options.calibrationText !== undefined
            ? 'calibration text'
            : `first ${t.calibrationDocuments} document(s) of the text (not scored)`,
      })
    : null;
  options.signal?.throwIfAborted();
  const dense = await evaluateLoss(model, tokenizer, t.scored, {
    signal: options.signal,
    fileName: options.fileName,
    perToken: options.perToken,
  });
  return {
    model,
    tokenizer,
    text: t.scored,
    denseLoss: dense.loss,
    ...(dense.perToken ? { densePerToken: dense.perToken } : {}),
    calibration,
    options,
  };
}

async function measure(ctx: Context, family: MaskFamilyId, budget: number): Promise<MaskEvaluation> {
  const fam = maskFamily(family);
  const { model, options } = ctx;
  const { nLayers, nHeads, nKvHeads, headDim } = model.config;
  // Mustafar prunes elements inside K and V: each kept entry's products run over e of headDim.
  const kvElements = fam.prunes === 'kv-elements' ? keptElements(budget, headDim) : undefined;
  const selectionShape: SelectionShape = {
    headDim,
    group: nHeads / nKvHeads,
    ...(options.mask?.blockSize !== undefined ? { blockSize: options.mask.blockSize } : {}),
    ...(options.mask?.chunkSize !== undefined ? { chunkSize: options.mask.chunkSize } : {}),
    ...(ctx.calibration ? { channels: ctx.calibration.perLayer[0]!.r } : {}),
    ...(kvElements !== undefined ? { kvElements } : {}),
  };
  let selection = 0;
  const n = nLayers * nHeads;
  const acc = {
    kept: new Float64Array(n),
    causal: new Float64Array(n),
    recall: new Float64Array(n),
    rows: new Float64Array(n),
    window: new Float64Array(n),
    windowCount: new Float64Array(n),
  };
  let kv = 0;
  let kvDense = 0;
  // kv-norm-evict ranks V separately: read each layer's values before its pattern hook runs.
  const values: (Float32Array | undefined)[] = [];
  const extra: Record<string, Hooks[string]> = {};
  if (family === 'kv-norm-evict') {
    for (let l = 0; l < nLayers; l++) {
      extra[`blocks.${l}.attn.hook_v`] = async (t) => void (values[l] = await model.backend.read(t));
    }
  }
  const r = await maskedLoss(
    model,
    ctx.tokenizer,
    ctx.text,
    ({ qk, pattern }) => {
      const cal = ctx.calibration?.perLayer[qk.layer];
      const m = buildMask(family, qk, budget, { ...options.mask, pattern, calibration: cal });
      const T = qk.T;
      const d = maskDensity(m).perHead;
      const rc = maskRecall(m, pattern).perHead;
      for (let h = 0; h < nHeads; h++) {
        const i = qk.layer * nHeads + h;
        acc.kept[i] = acc.kept[i]! + d[h]! * causalEntries(T);
        acc.causal[i] = acc.causal[i]! + causalEntries(T);
        acc.recall[i] = acc.recall[i]! + rc[h]! * T;
        acc.rows[i] = acc.rows[i]! + T;
        if (family === 'moa') {
          const off = (h * T + T - 1) * T;
          acc.window[i] = acc.window[i]! + m.keep.subarray(off, off + T).reduce((s, x) => s + x, 0);
          acc.windowCount[i] = acc.windowCount[i]! + 1;
        }
      }
      const rows = residentRows(family, qk, m, budget, values[qk.layer]);
      // Nothing pruned (budget 1): the cache stays in the dense format.
      kv +=
        kvElements === undefined || kvElements === headDim
          ? kvBytes(rows, headDim)
          : sparseKvBytes(rows, headDim, kvElements);
      selection += maskSelectionFlops(family, m, selectionShape);
      kvDense += kvBytes({ k: T * nKvHeads, v: T * nKvHeads }, headDim);
      return m;
    },
    {
      layers: options.layers,
      ...(kvElements !== undefined ? { kvElements } : {}),
      extraHooks: extra,
      signal: options.signal,
      onProgress: options.onProgress,
      fileName: options.fileName,
      perToken: options.perToken,
    },
  );
  const per_head: SweepHeadRow[] = [];
  for (let i = 0; i < n; i++) {
    if (acc.rows[i] === 0) continue; // layer not masked
    per_head.push({
      family,
      budget,
      layer: Math.floor(i / nHeads),
      head: i % nHeads,
      density: acc.kept[i]! / acc.causal[i]!,
      recall: acc.recall[i]! / acc.rows[i]!,
      window: acc.windowCount[i] ? Math.round(acc.window[i]! / acc.windowCount[i]!) : 0,
    });
  }
  return {
    family,
    budget,
    density: r.density,
    recall: r.recall,
    loss: r.loss,
    dense_loss: ctx.denseLoss,
    loss_increase: r.loss - ctx.denseLoss,
    attn_flops: attentionFlops(r.keptEntries, kvElements ?? headDim) + selection,
    attn_flops_dense: attentionFlops(r.causalEntries, headDim),
    kv_bytes: kv / r.windows,
    kv_bytes_dense: kvDense / r.windows,
    selection_flops: selection,
    oracle: fam.oracle ? 1 : 0,
    windows: r.windows,
    tokens: r.tokens,
    kept_entries: r.keptEntries,
    causal_entries: r.causalEntries,
    calibration: family === 'channel' ? ctx.calibration!.source : null,
    per_head,
    ...(r.perToken && ctx.densePerToken
      ? { token_losses: { dense: ctx.densePerToken, masked: r.perToken } }
      : {}),
  };
}

/**
 * Loss, density, recall and costs of one mask family at one budget, with the dense loss of the
 * same scored text alongside.
 *
 * @example
 * const r = await evaluateMask(model, tok, text, 'topk', 32, { maxWindows: 4 });
 * r.loss - r.dense_loss; // what keeping 32 keys per query costs
 */
export async function evaluateMask(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  family: MaskFamilyId | string,
  budget: number,
  options: MaskEvalOptions = {},
): Promise<MaskEvaluation> {
  const id = maskFamily(family).id;
  const ctx = await prepare(model, tokenizer, text, [id], options);
  return measure(ctx, id, budget);
}

export interface SweepOptions extends Omit<MaskEvalOptions, 'onProgress'> {
  /** Families to sweep (default all nine). */
  families?: readonly (MaskFamilyId | string)[];
  /** Budgets, each applied to every family (absolute budgets > 1 only to families that accept them). */
  budgets: readonly number[];
  /** Called after each point: done / total points. */
  onProgress?: (p: { done: number; total: number; family?: string; budget?: number }) => void;
}

export interface SweepResult {
  /** One row per point, `SWEEP_COLUMNS`. */
  points: Table;
  /** One row per point, layer and head, `SWEEP_HEAD_COLUMNS`. */
  heads: Table;
  denseLoss: number;
  windows: number;
  tokens: number;
  /** Where the channel calibration came from, or null. */
  calibration: string | null;
  /** The same points as plain objects (per_head included). */
  evaluations: MaskEvaluation[];
}

/**
 * Every family × budget on one scored text (the same for all: when channel is swept without a
 * calibration text, the calibration documents are held out from every family's score).
 *
 * @example
 * const s = await sweepMasks(model, tok, text, { families: ['topk', 'window-sink'], budgets: [0.1, 0.3, 1] });
 * s.points.getChild('loss_increase')?.toArray();
 */
export async function sweepMasks(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  options: SweepOptions,
): Promise<SweepResult> {
  const families = (options.families ?? MASK_FAMILIES.map((f) => f.id)).map((f) => maskFamily(f));
  const budgets = [...options.budgets];
  if (budgets.length === 0) throw new Error('sweepMasks needs at least one budget');
  const grid = families.flatMap((f) =>
    budgets.filter((b) => b <= 1 || f.budget === 'share-or-keys').map((b) => ({ family: f.id, budget: b })),
  );
  if (grid.length === 0) throw new Error(`no family accepts the budgets ${budgets.join(', ')}`);
  const ctx = await prepare(
    model,
    tokenizer,
    text,
    families.map((f) => f.id),
    { ...options, onProgress: undefined },
  );
  const evaluations: MaskEvaluation[] = [];
  options.onProgress?.({ done: 0, total: grid.length });
  for (const { family, budget } of grid) {
    evaluations.push(await measure(ctx, family, budget));
    options.onProgress?.({ done: evaluations.length, total: grid.length, family, budget });
  }
  return {
    points: sweepTable(evaluations),
    heads: sweepHeadTable(evaluations.flatMap((e) => e.per_head)),
    denseLoss: ctx.denseLoss,
    windows: evaluations[0]!.windows,
    tokens: evaluations[0]!.tokens,
    calibration: ctx.calibration?.source ?? null,
    evaluations,
  };
}
