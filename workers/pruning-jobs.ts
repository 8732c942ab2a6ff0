/**
 * The pruning cells' work, as the runtime worker runs it (runtime-api.ts wraps each function in a
 * job and sends its tables as Arrow IPC bytes): a sweep of methods × patterns × sparsities
 * (analyses/pruning/sweep.ts) whose pruned variants stay in worker memory, keyed by the requesting
 * cell, so the view can look at any point's masks and export it without pruning again.
 * Plain functions over a loaded model, so Node tests call them directly on the CPU backend.
 */
import type { Table } from 'apache-arrow';
import {
  checkPrunedExport,
  exportPruned,
  patternName,
  prunedExportSupported,
  pruningSweep,
  PRUNING_METHODS,
  type PrunedModel,
  type PruningMethod,
} from '../analyses/pruning/index';
import { perTokenLoss, type LinearWeightName, type LlamaModel, type Tokenizer } from '../runtime/index';
import { tokenLossTable } from '../runtime/tables';
import { tokenText } from '../runtime/tokenizers/token-text';
import { PrunedUpload } from '../analyses/pruning/upload';
import { tensorTable } from '../runtime/tensor-table';
import { KeptByCell } from '../runtime/kept-by-cell';
import type { Sparsities } from '../analyses/pruning/sparsities';
import { prunedMatrix } from '../analyses/pruning/matrix-view';
import type {
  PruningExportFiles,
  PruningMaskSummary,
  PruningProgress,
  PruningSweepSummary,
} from './runtime-types';

/** What the pruning sweep cell asks for. */
export interface PruningSweepRequest {
  /** The cell asking: its sweep is kept under this id (replacing the cell's previous one). */
  cellId: string;
  text: string;
  methods: string[];
  /** 'unstructured', 'N:M' (e.g. '2:4'), 'channels', 'heads'. */
  patterns: string[];
  /** Levels for unstructured / channels / heads (N:M has its own, 1 − N/M), parsed by the caller. */
  sparsities: Sparsities;
  /** Calibration windows of seqLen tokens (Wanda, SparseGPT), ≥ 1. */
  calibrationWindows: number;
  /** Loss windows scored per point, ≥ 1. */
  maxWindows: number;
  allocation: 'uniform' | 'sensitivity';
  fileName?: string;
}

/** Which kept point (and, for the mask, which matrix) a view asks for. */
export interface PruningPointRequest {
  cellId: string;
  /** `summary.sweepId` of the sweep result the view shows (refused when the worker holds another). */
  sweepId: string;
  /** Index of the pruned point: row `variant + 1` of the points table (row 0 is dense). */
  variant: number;
}

export interface PruningMaskRequest extends PruningPointRequest {
  layer: number;
  /** One of the model's block linears (`PruningSweepSummary.matrices`): wq, wk, wv, wo, w1, w2, w3. */
  matrix: string;
}

/** Most sweeps kept at once (one per cell; the least recently used goes first). */
export const MAX_KEPT_SWEEPS = 4;

interface KeptSweep {
  model: LlamaModel;
  variants: PrunedModel[];
}

/** Sweeps kept in worker memory by cell id (runtime/kept-by-cell.ts). */
export class PruningStore extends KeptByCell<LlamaModel, KeptSweep> {
  constructor() {
    super(MAX_KEPT_SWEEPS, 'sweep');
  }

  /** The kept point a view names, or an error that says to run the cell again. */
  point(request: PruningPointRequest): { model: LlamaModel; pruned: PrunedModel } {
    const k = this.get(request.cellId, request.sweepId);
    const pruned = k.variants[request.variant];
    if (!Number.isInteger(request.variant) || !pruned)
      throw new RangeError(
        `point must be an integer in [0, ${k.variants.length - 1}], got ${request.variant}`,
      );
    return { model: k.model, pruned };
  }
}

/**
 * Run the sweep and keep its variants in `store` under the request's cell id.
 *
 * @example
 * const r = await pruningSweepJob(model, tok, store, { cellId: 'c1', text, methods: ['magnitude'], patterns: ['2:4'], sparsities: parseSparsities([0.5]), calibrationWindows: 1, maxWindows: 1, allocation: 'uniform' });
 * r.points.numRows; // 1 dense + 1
 */
export async function pruningSweepJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  store: PruningStore,
  request: PruningSweepRequest,
  options: { signal?: AbortSignal; onProgress?: (p: PruningProgress) => void } = {},
): Promise<{ points: Table; layers: Table; summary: PruningSweepSummary }> {
  const { maxWindows, calibrationWindows, methods, patterns, sparsities, allocation } = request;
  if (!Number.isInteger(maxWindows) || maxWindows < 1)
    throw new RangeError(`eval windows must be a positive integer, got ${maxWindows}`);
  if (!Number.isInteger(calibrationWindows) || calibrationWindows < 1)
    throw new RangeError(`calibration windows must be a positive integer, got ${calibrationWindows}`);
  if (methods.length === 0) throw new RangeError('pick at least one pruning method');
  if (patterns.length === 0) throw new RangeError('pick at least one pattern');
  for (const m of methods)
    if (!(PRUNING_METHODS as readonly string[]).includes(m))
      throw new RangeError(`unknown pruning method '${m}': expected ${PRUNING_METHODS.join(', ')}`);
  if (allocation !== 'uniform' && allocation !== 'sensitivity')
    throw new RangeError(`allocation must be uniform or sensitivity, got ${String(allocation)}`);
  const s = await pruningSweep(model, tokenizer, request.text, {
    methods: methods as PruningMethod[],
    patterns,
    sparsities,
    calibrationWindows,
    maxWindows,
    allocation,
    ...(request.fileName ? { fileName: request.fileName } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) => options.onProgress?.(p),
  });
  const sweepId = store.keep(request.cellId, { model, variants: s.variants.map((v) => v.pruned) });
  return {
    points: s.points,
    layers: s.layers,
    summary: {
      sweepId,
      dense: { ...s.dense },
      calibration: { ...s.calibration },
      cliffs: s.cliffs.map((c) => ({
        method: c.method,
        pattern: c.pattern,
        essentialSparsity: c.essentialSparsity,
        cliffSparsity: c.cliffSparsity,
        index: c.index,
        steepest: c.steepest ? { ...c.steepest } : null,
      })),
      variants: s.variants.length,
      nLayers: model.config.nLayers,
      matrices: [...model.linearWeights],
      exportable: prunedExportSupported(model.config),
    },
  };
}

/**
 * One matrix of a kept point: the dense weights, the keep mask and the pruned values (dense ⊙ mask,
 * or SparseGPT's updated values), each a tensor table [rows, cols]. Nothing is pruned again.
 *
 * @example
 * const m = await pruningMaskJob(store, { cellId: 'c1', sweepId, variant: 0, layer: 1, matrix: 'w1' });
 */
export async function pruningMaskJob(
  store: PruningStore,
  request: PruningMaskRequest,
): Promise<{ dense: Table; mask: Table; pruned: Table; summary: PruningMaskSummary }> {
  const { model, pruned } = store.point(request);
  const { layer, matrix } = request;
  if (!Number.isInteger(layer) || layer < 0 || layer >= model.config.nLayers)
    throw new RangeError(`layer must be an integer in [0, ${model.config.nLayers - 1}], got ${layer}`);
  if (!model.linearWeights.includes(matrix as LinearWeightName))
    throw new RangeError(
      `matrix must be one of this model's ${model.linearWeights.join(', ')}, got '${matrix}'`,
    );
  const name = matrix as LinearWeightName;
  const [rows, cols] = model.weightShape(name);
  const dense = await model.readWeight(layer, name);
  const w = pruned.weights.find((p) => p.layer === layer && p.name === name);
  const { mask, values, nonzeros } = prunedMatrix(dense, w);
  const p = pruned.pattern;
  const label = `blocks.${layer}.${name}`;
  return {
    dense: tensorTable(label, [rows, cols], dense),
    mask: tensorTable(`${label} mask`, [rows, cols], mask),
    pruned: tensorTable(`${label} pruned`, [rows, cols], values),
    summary: {
      method: pruned.method,
      pattern: patternName(p),
      sparsity: pruned.sparsity,
      layer,
      matrix: name,
      rows,
      cols,
      nonzeros,
      pruned: !!w,
      updated: !!w?.values,
      ...(p.kind === 'nm' ? { n: p.n, m: p.m } : {}),
    },
  };
}

/**
 * The files of a kept point (analyses/pruning/export.ts): llama2.c `model.bin`, the HF folder's
 * `config.json` and `model.safetensors`, and `masks.safetensors`, plus a base name for them.
 *
 * @example
 * const files = await pruningExportJob(store, { cellId: 'c1', sweepId, variant: 0 });
 */
export async function pruningExportJob(
  store: PruningStore,
  request: PruningPointRequest,
): Promise<PruningExportFiles> {
  const { model, pruned } = store.point(request);
  checkPrunedExport(model.config);
  const files = exportPruned(model.config, await model.readWeights(), pruned);
  const pattern = patternName(pruned.pattern).replace(':', 'of');
  const pct = Math.round(pruned.sparsity * 100);
  return {
    baseName: `${model.name.replace(/\.[^.]*$/, '') || 'model'}-${pruned.method}-${pattern}-${pct}`,
    modelBin: files['model.bin'],
    modelBinRefused: files.modelBinRefused,
    configJson: files['config.json'],
    modelSafetensors: files['model.safetensors'],
    masksSafetensors: files['masks.safetensors'],
  };
}

/** One document scored dense and with a kept point's weights (the selection's loss change). */
export interface PruningTokenLossRequest extends PruningPointRequest {
  /** The document's text (one document: no `<|endoftext|>` inside). */
  text: string;
}

/**
 * Per-token loss of BOS + `text` (cut to the model's context) with the dense weights and with a
 * kept point's pruned weights: `dense` and `pruned`, each a token-loss table (TOKEN_LOSS_SCHEMA).
 * Nothing is pruned again; the pruned weights are uploaded for this evaluation only.
 *
 * @example
 * const r = await pruningTokenLossJob(store, tok, { cellId: 'c1', sweepId, variant: 0, text });
 * r.pruned.getChild('loss')!.get(5)! - r.dense.getChild('loss')!.get(5)!; // token 5's loss change
 */
export async function pruningTokenLossJob(
  store: PruningStore,
  tokenizer: Tokenizer,
  request: PruningTokenLossRequest,
  opts: { signal?: AbortSignal } = {},
): Promise<{ dense: Table; pruned: Table; summary: { variant: number; tokens: number } }> {
  const { model, pruned } = store.point(request);
  const all = tokenizer.encode(request.text, { bos: true, source: 'prompt' });
  const tokens = all.subarray(0, Math.min(all.length, model.config.seqLen));
  if (tokens.length < 2) throw new RangeError('the document has no token after its first to score');
  const texts = Array.from(tokens, (t, i) =>
    tokenText(tokenizer, i > 0 ? tokens[i - 1]! : tokenizer.documentToken, t),
  );
  const signal = opts.signal ? { signal: opts.signal } : {};
  const dense = await perTokenLoss(model, tokens, signal);
  const upload = new PrunedUpload(model);
  let after: Float32Array;
  try {
    upload.add(pruned.weights);
    after = await perTokenLoss(model, tokens, { ...signal, weights: upload.overrides });
  } finally {
    upload.dispose();
  }
  const table = (losses: Float32Array) => tokenLossTable({ tokenIds: tokens, tokens: texts, losses });
  return {
    dense: table(dense),
    pruned: table(after),
    summary: { variant: request.variant, tokens: tokens.length },
  };
}
