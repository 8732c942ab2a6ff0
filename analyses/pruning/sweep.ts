/**
 * Pruning sweeps: sparsity levels × methods × patterns, each point pruned from the intact dense
 * weights, evaluated on held-out text (loss, perplexity, next-token agreement with the dense
 * model) and costed (non-zeros, FLOPs, bytes as dense / CSR / 2:4). Each (method, pattern) curve
 * gets its cliff marked. The pruned variants are returned with the tables, so any point can be
 * uploaded again (`PrunedUpload`) without re-running the sweep.
 *
 * Text: the calibration set (Wanda, SparseGPT) is `calibrationText` when given; otherwise the
 * first tenth of the text's documents, which are then left out of the scored text (`calibration.source`
 * says which). Scoring uses at most `maxWindows` loss windows of the rest.
 */
import type { Table } from 'apache-arrow';
import { checkCompatible } from '../../runtime/compatibility';
import type { LlamaModel } from '../../runtime/model/llama';
import { buildTokenStream } from '../../runtime/text';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { prepareText } from '../../runtime/scored-text';
import { calibrationWindows } from './calibration';
import { findCliff, type Cliff } from './cliff';
import { evaluateTokens, type PrunedEvaluation } from './evaluate';
import { checkPruningOptions } from './options';
import { parsePattern, patternName, type PruningPattern } from './patterns';
import { PRUNING_METHODS, type PruningMethod } from './prune-block';
import { patternSparsity, pruneModel, type PrunedModel } from './prune-model';
import { sensitivityScan } from './sensitivity';
import { csrBytes, denseBytes, linearFlops, nmCompressedBytes } from './storage';
import { pruningLayerTable, pruningPointTable, type PruningLayerRow, type PruningPointRow } from './tables';
import { PrunedUpload } from './upload';
import { parseSparsities, type Sparsities } from './sparsities';

export const DEFAULT_SPARSITIES = parseSparsities([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);

export interface PruningSweepOptions {
  methods?: readonly PruningMethod[];
  /** Pattern names: 'unstructured', 'N:M', 'channels', 'heads' (default unstructured). */
  patterns?: readonly string[];
  /** Levels for unstructured / channels / heads (N:M has its own), parsed where they entered. */
  sparsities?: Sparsities;
  calibrationText?: string | null;
  /** Calibration windows of seqLen tokens (default 8). */
  calibrationWindows?: number;
  /** Score at most this many loss windows of held-out text. */
  maxWindows?: number;
  allocation?: 'uniform' | 'sensitivity';
  magnitudeScope?: 'layer' | 'global';
  /** Relative loss tolerance of the cliff (default 0.01). */
  cliffTolerance?: number;
  fileName?: string;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; label: string }) => void;
}

export interface SweepPoint {
  method: PruningMethod;
  pattern: PruningPattern;
  patternName: string;
  sparsity: number;
  evaluation: PrunedEvaluation;
  pruned: PrunedModel;
}

export interface PruningSweep {
  /** `PRUNING_POINT_COLUMNS`, the dense reference first. */
  points: Table;
  /** `PRUNING_LAYER_COLUMNS`. */
  layers: Table;
  dense: { loss: number; perplexity: number; tokens: number };
  calibration: { source: string; windows: number; tokens: number };
  /** Pruned variants in the order of `points` rows 1…. */
  variants: SweepPoint[];
  cliffs: ({ method: PruningMethod; pattern: string } & Cliff)[];
}

/**
 * @example
 * const s = await pruningSweep(model, tok, text, { methods: ['magnitude', 'wanda'], patterns: ['unstructured', '2:4'] });
 * s.cliffs; // per method and pattern
 */
export async function pruningSweep(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  options: PruningSweepOptions = {},
): Promise<PruningSweep> {
  const methods = options.methods ?? PRUNING_METHODS;
  for (const m of methods) {
    if (!(PRUNING_METHODS as readonly string[]).includes(m)) {
      throw new Error(`unknown pruning method '${m}': expected ${PRUNING_METHODS.join(', ')}`);
    }
  }
  const patterns = (options.patterns ?? ['unstructured']).map(parsePattern);
  const sparsities = [...(options.sparsities ?? DEFAULT_SPARSITIES)].sort((a, b) => a - b);

  checkPruningOptions({
    methods,
    patterns,
    perBlockAllocation: options.allocation === 'sensitivity',
    ...(options.magnitudeScope ? { magnitudeScope: options.magnitudeScope } : {}),
  });

  const { tokens, calibration, calibrationInfo } = preparePruningText(model, tokenizer, text, options);

  const jobs = patterns.flatMap((pattern) =>
    methods.flatMap((method) =>
      (pattern.kind === 'nm' ? [patternSparsity(pattern, 0)] : sparsities.filter((s) => s > 0)).map(
        (sparsity) => ({ method, pattern, sparsity }),
      ),
    ),
  );
  const total = jobs.length + 1;
  const progress = (done: number, label: string) => options.onProgress?.({ done, total, label });
  progress(0, 'dense');
  const dense = await evaluateTokens(model, tokens, { signal: options.signal });
  const allocations = new Map<number, number[]>();
  const variants: SweepPoint[] = [];
  for (const [i, job] of jobs.entries()) {
    options.signal?.throwIfAborted();
    const name = patternName(job.pattern);
    let allocation: number[] | undefined;
    if (options.allocation === 'sensitivity') {
      allocation = allocations.get(job.sparsity);
      if (!allocation) {
        allocation = (await sensitivityScan(model, calibration, job.sparsity, options)).allocation;
        allocations.set(job.sparsity, allocation);
      }
    }
    const pruned = await pruneModel(model, {
      ...job,
      calibration,
      ...(allocation ? { allocation } : {}),
      ...(options.magnitudeScope ? { magnitudeScope: options.magnitudeScope } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const evaluation = await evaluatePruned(model, tokens, pruned, dense.argmax, options.signal);
    variants.push({ ...job, patternName: name, evaluation, pruned });
    progress(i + 1, `${job.method} ${name} ${job.sparsity}`);
  }
  progress(total, 'done');
  return sweepResult(model, dense, variants, calibrationInfo, options);
}

/** Scored tokens and calibration windows of a pruning run. */
export interface PruningText {
  /** Held-out token stream every point is scored on. */
  tokens: Int32Array;
  calibration: Int32Array[];
  calibrationInfo: PruningSweep['calibration'];
}

/**
 * Split `text` into calibration windows and scored tokens (see the module comment).
 *
 * @example
 * const { tokens, calibration } = preparePruningText(model, tok, text, { maxWindows: 4 });
 */
export function preparePruningText(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  options: Pick<
    PruningSweepOptions,
    'calibrationText' | 'calibrationWindows' | 'maxWindows' | 'fileName'
  > = {},
): PruningText {
  checkCompatible(model.config, tokenizer, { model: model.name, tokenizer: tokenizer.fileName });
  const fileName = options.fileName ?? 'text';
  const S = model.config.seqLen;
  const prepared = prepareText(tokenizer, text, S, {
    splitCalibration: options.calibrationText == null,
    fileName,
    ...(options.maxWindows !== undefined ? { maxWindows: options.maxWindows } : {}),
  });
  const calText = options.calibrationText ?? prepared.calibrationText ?? '';
  const calTokens = buildTokenStream(tokenizer, calText, 'calibration text').tokens;
  const calibration = calibrationWindows(calTokens, S, options.calibrationWindows ?? 8);
  const tokens = buildTokenStream(tokenizer, prepared.scored, fileName).tokens;
  const source =
    options.calibrationText != null
      ? 'calibration file'
      : `first ${prepared.calibrationDocuments} document${prepared.calibrationDocuments === 1 ? '' : 's'} of ${fileName} (left out of the scored text)`;
  return {
    tokens,
    calibration,
    calibrationInfo: { source, windows: calibration.length, tokens: calTokens.length },
  };
}

/** Loss and agreement of a pruned variant, uploaded for the evaluation only. */
export async function evaluatePruned(
  model: LlamaModel,
  tokens: Int32Array,
  pruned: PrunedModel,
  reference: Int32Array,
  signal?: AbortSignal,
): Promise<PrunedEvaluation> {
  const upload = new PrunedUpload(model);
  try {
    upload.add(pruned.weights);
    return await evaluateTokens(model, tokens, {
      weights: upload.overrides,
      reference,
      ...(signal ? { signal } : {}),
    });
  } finally {
    upload.dispose();
  }
}

function sweepResult(
  model: LlamaModel,
  dense: PrunedEvaluation,
  variants: SweepPoint[],
  calibration: PruningSweep['calibration'],
  options: PruningSweepOptions,
): PruningSweep {
  const cliffs: PruningSweep['cliffs'] = [];
  const cliffPoints = new Set<SweepPoint>();
  const curves = new Map<string, SweepPoint[]>();
  for (const v of variants) {
    if (v.pattern.kind === 'nm') continue; // one point per method: no curve
    const key = `${v.method}|${v.patternName}`;
    curves.set(key, [...(curves.get(key) ?? []), v]);
  }
  for (const curve of curves.values()) {
    const points = curve.map((v) => ({ sparsity: v.sparsity, loss: v.evaluation.loss }));
    const c = findCliff(points, dense.loss, options.cliffTolerance);
    cliffs.push({ method: curve[0]!.method, pattern: curve[0]!.patternName, ...c });
    const sorted = [...curve].sort((a, b) => a.sparsity - b.sparsity);
    if (c.index >= 0) cliffPoints.add(sorted[c.index]!);
  }
  // Costs count the block linears the model has (an MoE's attention only: its experts stay dense).
  const shapes = model.linearWeights.map((n) => model.weightShape(n));
  const rowsTotal = shapes.reduce((a, [r]) => a + r, 0) * model.config.nLayers;
  const total = shapes.reduce((a, [r, c]) => a + r * c, 0) * model.config.nLayers;
  const cost = (nonzeros: number, is24: boolean) => ({
    nonzeros,
    total,
    weight_sparsity: 1 - nonzeros / total,
    flops: linearFlops(nonzeros),
    flops_dense: linearFlops(total),
    bytes_dense: shapes.reduce((a, [r, c]) => a + denseBytes(r, c), 0) * model.config.nLayers,
    bytes_csr: csrBytes(nonzeros, rowsTotal),
    bytes_nm: is24
      ? shapes.reduce((a, [r, c]) => a + nmCompressedBytes(r, c, 2, 4), 0) * model.config.nLayers
      : NaN,
  });
  const quality = (e: PrunedEvaluation) => ({
    loss: e.loss,
    perplexity: e.perplexity,
    loss_increase: e.loss - dense.loss,
    agreement: e.agreement,
  });
  const points: PruningPointRow[] = [
    { method: 'dense', pattern: 'dense', sparsity: 0, ...quality(dense), ...cost(total, false), cliff: 0 },
    ...variants.map((v) => ({
      method: v.method,
      pattern: v.patternName,
      sparsity: v.sparsity,
      ...quality(v.evaluation),
      ...cost(v.pruned.nonzeros, v.patternName === '2:4'),
      cliff: cliffPoints.has(v) ? 1 : 0,
    })),
  ];
  const layers: PruningLayerRow[] = variants.flatMap((v) =>
    v.pruned.matrices.map((m) => ({
      method: v.method,
      pattern: v.patternName,
      sparsity: v.sparsity,
      layer: m.layer,
      matrix: m.name,
      nonzeros: m.nonzeros,
      total: m.total,
      matrix_sparsity: 1 - m.nonzeros / m.total,
    })),
  );
  return {
    points: pruningPointTable(points),
    layers: pruningLayerTable(layers),
    dense: { loss: dense.loss, perplexity: dense.perplexity, tokens: dense.tokens },
    calibration,
    variants,
    cliffs,
  };
}
