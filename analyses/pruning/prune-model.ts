/**
 * Prune a whole model: block by block, each block calibrated on the outputs of the already pruned
 * blocks before it (`collectBlockStats`), its matrices pruned by `pruneBlock`, and the result kept
 * on the host (masks, plus SparseGPT's values) so it can be uploaded, saved or re-selected later.
 * The matrices are the block linears the model has (`model.linearWeights`): an MoE model's
 * attention only (its experts stay dense), a plain FFN's w1 and w2 (no w3).
 */
import { LINEAR_WEIGHTS, type LinearWeightName, type LlamaModel } from '../../runtime/model/llama';
import { createYielder } from '../../runtime/scheduling';
import { linearShapes, readBlockWeights } from './block-weights';
import { collectBlockStats, linearInputHooks, type LinearInputHook } from './calibration';
import { checkPruningOptions } from './options';
import { globalThreshold, type PruningPattern } from './patterns';
import { pruneBlock, type PrunedWeight, type PruningMethod } from './prune-block';
import { magnitudeScores } from './scores';
import { countNonzeros } from './storage';
import { PrunedUpload } from './upload';

export interface PruneOptions {
  method: PruningMethod;
  pattern: PruningPattern;
  /** Target sparsity: share of the pattern's unit removed (weights, channels or heads); N:M ignores it. */
  sparsity: number;
  /** Per-block sparsities (non-uniform allocation); default `sparsity` everywhere. */
  allocation?: readonly number[];
  /** Magnitude only: compare within each matrix ('layer', default) or across all blocks ('global'). */
  magnitudeScope?: 'layer' | 'global';
  /** Calibration windows (token rows) for Wanda and SparseGPT. */
  calibration?: readonly Int32Array[];
  blockSize?: number;
  percdamp?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** Per-matrix sparsity after pruning. */
export interface MatrixSparsity {
  layer: number;
  name: LinearWeightName;
  nonzeros: number;
  total: number;
}

export interface PrunedModel {
  method: PruningMethod;
  pattern: PruningPattern;
  /** The requested sparsity (for N:M: 1 − N/M). */
  sparsity: number;
  weights: PrunedWeight[];
  /** Every block linear the model has (pruned or not), for sparsity bars and efficiency accounting. */
  matrices: MatrixSparsity[];
  nonzeros: number;
  total: number;
}

/** The sparsity a pattern implies or the one requested. */
export function patternSparsity(pattern: PruningPattern, sparsity: number): number {
  return pattern.kind === 'nm' ? 1 - pattern.n / pattern.m : sparsity;
}

/**
 * @example
 * const pruned = await pruneModel(model, { method: 'wanda', pattern: parsePattern('2:4'), sparsity: 0.5, calibration });
 * @throws for channels on an MoE model, a missing calibration set, options the run cannot honour
 *   (`checkPruningOptions`) or bad options; the signal's
 *   reason when aborted.
 */
export async function pruneModel(model: LlamaModel, options: PruneOptions): Promise<PrunedModel> {
  const { config } = model;
  const { method, pattern } = options;
  if (config.moe && pattern.kind === 'channels') {
    throw new Error(
      "channel pruning removes FFN channels, and this model's FFN is a mixture of experts (only its attention is pruned): use unstructured, N:M or heads",
    );
  }
  checkPruningOptions({
    methods: [method],
    patterns: [pattern],
    perBlockAllocation: options.allocation !== undefined,
    ...(options.magnitudeScope ? { magnitudeScope: options.magnitudeScope } : {}),
  });
  const target = patternSparsity(pattern, options.sparsity);
  if (!(target >= 0 && target <= 1)) throw new Error(`sparsity must be in [0, 1], got ${options.sparsity}`);
  const allocation = options.allocation ?? Array<number>(config.nLayers).fill(target);
  if (allocation.length !== config.nLayers) {
    throw new Error(`allocation has ${allocation.length} entries; the model has ${config.nLayers} blocks`);
  }
  const calibration = options.calibration ?? [];
  if (method !== 'magnitude' && calibration.length === 0) throw new Error(`${method} needs calibration text`);
  const shapes = linearShapes(model);
  const names = model.linearWeights;
  const inputs = linearInputHooks(config);
  const readBlock = async (l: number) => (await readBlockWeights(model, l)).weights;

  const globalMasks =
    options.magnitudeScope === 'global' ? await globalMagnitudeMasks(model, names, target, readBlock) : null;

  const upload = new PrunedUpload(model);
  const weights: PrunedWeight[] = [];
  const maybeYield = createYielder();
  try {
    options.onProgress?.({ done: 0, total: config.nLayers });
    for (let l = 0; l < config.nLayers; l++) {
      options.signal?.throwIfAborted();
      const dense = await readBlock(l);
      const stats =
        method === 'magnitude'
          ? null
          : await collectBlockStats(model, calibration, l, upload.overrides, {
              signal: options.signal,
              wanted: inputsFor(pattern, names, inputs),
            });
      const pruned = pruneBlock(
        { layer: l, weights: dense, shapes, headDim: config.headDim, inputs },
        stats,
        {
          method,
          pattern,
          sparsity: allocation[l]!,
          ...(globalMasks ? { masks: globalMasks[l] } : {}),
          ...(options.blockSize !== undefined ? { blockSize: options.blockSize } : {}),
          ...(options.percdamp !== undefined ? { percdamp: options.percdamp } : {}),
        },
      );
      weights.push(...pruned);
      // Later blocks calibrate on this block's pruned outputs.
      if (method !== 'magnitude' && l + 1 < config.nLayers) upload.add(pruned);
      options.onProgress?.({ done: l + 1, total: config.nLayers });
      await maybeYield();
    }
  } finally {
    upload.dispose();
  }
  const matrices = matrixSparsity(config.nLayers, shapes, weights);
  const nonzeros = matrices.reduce((a, m) => a + m.nonzeros, 0);
  const total = matrices.reduce((a, m) => a + m.total, 0);
  return { method, pattern, sparsity: target, weights, matrices, nonzeros, total };
}

/** The inputs a pattern's pruned matrices read. */
function inputsFor(
  pattern: PruningPattern,
  names: readonly LinearWeightName[],
  inputs: Readonly<Record<LinearWeightName, LinearInputHook>>,
): LinearInputHook[] {
  if (pattern.kind === 'channels') return [inputs.w2];
  if (pattern.kind === 'heads') return [inputs.wo];
  return [...new Set(names.map((n) => inputs[n]))];
}

async function globalMagnitudeMasks(
  model: LlamaModel,
  names: readonly LinearWeightName[],
  sparsity: number,
  readBlock: (l: number) => Promise<Partial<Record<LinearWeightName, Float32Array>>>,
): Promise<Partial<Record<LinearWeightName, Uint8Array>>[]> {
  const scores: Float32Array[] = [];
  for (let l = 0; l < model.config.nLayers; l++) {
    const block = await readBlock(l);
    for (const n of names) scores.push(magnitudeScores(block[n]!));
  }
  const { masks } = globalThreshold(scores, sparsity);
  const k = names.length;
  return Array.from({ length: model.config.nLayers }, (_, l) =>
    Object.fromEntries(names.map((n, i) => [n, masks[l * k + i]!])),
  );
}

/** Non-zeros of every block linear in `shapes` (the model's): pruned ones from their masks, the rest dense. */
export function matrixSparsity(
  nLayers: number,
  shapes: Partial<Record<LinearWeightName, [number, number]>>,
  weights: readonly PrunedWeight[],
): MatrixSparsity[] {
  const byKey = new Map(weights.map((w) => [`${w.layer}.${w.name}`, w]));
  const out: MatrixSparsity[] = [];
  for (let layer = 0; layer < nLayers; layer++) {
    for (const name of LINEAR_WEIGHTS) {
      const shape = shapes[name];
      if (!shape) continue;
      const [rows, cols] = shape;
      const p = byKey.get(`${layer}.${name}`);
      out.push({ layer, name, total: rows * cols, nonzeros: p ? countNonzeros(p.mask) : rows * cols });
    }
  }
  return out;
}
