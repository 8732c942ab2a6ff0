/**
 * Prune the linear layers of one block, given its dense weights and (for Wanda and SparseGPT) its
 * calibration input statistics. Pure: no model, no backend.
 *
 * - unstructured: magnitude compares |W| over the layer, Wanda compares |W|·‖X‖ within each output
 *   row, SparseGPT chooses per 128-column block by w²/[H⁻¹]²_jj and compensates the kept weights;
 * - N:M: the same scores, N kept in every M consecutive inputs (SparseGPT picks per group as it goes);
 * - channels: whole FFN channels j (row j of w1 and w3 — w1 only in a plain FFN —, column j of w2),
 *   scored by the sum of the criterion over the channel's w2 column for Wanda / SparseGPT (its
 *   output contribution |W2_ij|·‖x_j‖) and over all of them for magnitude; SparseGPT then re-fits
 *   w2 on the kept channels (not for an MoE block, whose experts are not pruned);
 * - heads: whole query heads h (rows h·hd..(h+1)·hd of wq, the same columns of wo; k/v are shared by
 *   the heads of a GQA group and stay), scored over wo's columns (and wq's rows for magnitude);
 *   SparseGPT re-fits wo.
 */
import { LINEAR_WEIGHTS, type LinearWeightName } from '../../runtime/model/llama';
import type { BlockInputStats, LinearInputHook } from './calibration';
import { LINEAR_INPUT_HOOK } from './calibration';
import { groupScores, nmMask, structuredMask, unstructuredMask, type PruningPattern } from './patterns';
import { magnitudeScores, wandaScores, type InputStats } from './scores';
import { sparseGpt } from './sparsegpt';

export const PRUNING_METHODS = ['magnitude', 'wanda', 'sparsegpt'] as const;
export type PruningMethod = (typeof PRUNING_METHODS)[number];

/** One pruned matrix: its keep mask, and new values when the method re-fits the kept weights. */
export interface PrunedWeight {
  layer: number;
  name: LinearWeightName;
  rows: number;
  cols: number;
  /** 1 = kept, [rows, cols]. */
  mask: Uint8Array;
  /** SparseGPT's compensated weights (pruned entries 0); absent = dense ⊙ mask. */
  values?: Float32Array;
}

/**
 * A block's dense matrices on the host with their [out, in] shapes. `shapes` lists the linears the
 * block has (`LlamaModel.linearWeights`: no w3 for a plain FFN, only wq/wk/wv/wo for an MoE, whose
 * experts are not pruned); the query width (wq rows, wo columns) is nHeads·headDim, which need
 * not be the residual width (Gemma).
 */
export interface BlockWeights {
  layer: number;
  weights: Partial<Record<LinearWeightName, Float32Array>>;
  shapes: Partial<Record<LinearWeightName, [number, number]>>;
  headDim: number;
  /** The hook point feeding each linear (default `LINEAR_INPUT_HOOK`; see `linearInputHooks`). */
  inputs?: Readonly<Record<LinearWeightName, LinearInputHook>>;
}

export interface BlockPruneSpec {
  method: PruningMethod;
  pattern: PruningPattern;
  /** This block's sparsity (unstructured, channels, heads); ignored for N:M. */
  sparsity: number;
  /** Precomputed masks (global magnitude), by weight name. */
  masks?: Partial<Record<LinearWeightName, Uint8Array>>;
  blockSize?: number;
  percdamp?: number;
}

/**
 * Weights an unstructured or N:M pattern prunes in a llama2.c block: all seven linears. Other
 * architectures have fewer (`LlamaModel.linearWeights`, `blockTargets`).
 */
export const UNSTRUCTURED_TARGETS: readonly LinearWeightName[] = LINEAR_WEIGHTS;

/** The linears block `b` has (those with a shape), in `LINEAR_WEIGHTS` order. */
export function blockTargets(b: Pick<BlockWeights, 'shapes'>): LinearWeightName[] {
  return LINEAR_WEIGHTS.filter((n) => b.shapes[n] !== undefined);
}

/**
 * Prune block `b` by `spec`. `stats` must hold the inputs of the pruned weights for Wanda and
 * SparseGPT (`collectBlockStats`).
 *
 * @example
 * pruneBlock(block, stats, { method: 'wanda', pattern: { kind: 'nm', n: 2, m: 4 }, sparsity: 0.5 });
 */
export function pruneBlock(
  b: BlockWeights,
  stats: BlockInputStats | null,
  spec: BlockPruneSpec,
): PrunedWeight[] {
  const { method, pattern } = spec;
  if (method !== 'magnitude' && !stats) throw new Error(`${method} needs calibration inputs`);
  const targets = blockTargets(b);
  const shape = (name: LinearWeightName): [number, number] => {
    const s = b.shapes[name];
    if (!s) throw new Error(`block ${b.layer} has no ${name} (its linears: ${targets.join(', ')})`);
    return s;
  };
  const w = (name: LinearWeightName) => {
    const x = b.weights[name];
    if (!x) throw new Error(`block ${b.layer}: weight ${name} is missing`);
    return x;
  };
  const inputs = b.inputs ?? LINEAR_INPUT_HOOK;
  const input = (name: LinearWeightName): InputStats => {
    const s = stats?.get(inputs[name]);
    if (!s) throw new Error(`block ${b.layer}: no calibration inputs for ${name} (${inputs[name]})`);
    return s;
  };
  const scores = (name: LinearWeightName): Float32Array => {
    const [rows, cols] = shape(name);
    return method === 'magnitude'
      ? magnitudeScores(w(name))
      : wandaScores(w(name), rows, cols, input(name).columnNorms());
  };
  const out = (name: LinearWeightName, mask: Uint8Array, values?: Float32Array): PrunedWeight => {
    const [rows, cols] = shape(name);
    return { layer: b.layer, name, rows, cols, mask, ...(values ? { values } : {}) };
  };
  const refit = (name: LinearWeightName, mask: Uint8Array): PrunedWeight => {
    if (method !== 'sparsegpt') return out(name, mask);
    const [rows, cols] = shape(name);
    const r = sparseGpt(w(name), rows, cols, input(name).hessian, { mask, ...gptOptions(spec) });
    return out(name, r.mask, r.weights);
  };

  if (pattern.kind === 'nm') {
    for (const name of targets) {
      const cols = shape(name)[1];
      if (cols % pattern.m !== 0) {
        throw new Error(
          `${pattern.n}:${pattern.m} needs every matrix's input width to be a multiple of ${pattern.m}; blocks.${b.layer}.${name} has ${cols} inputs`,
        );
      }
    }
  }
  if (pattern.kind === 'unstructured' || pattern.kind === 'nm') {
    return targets.map((name) => {
      const [rows, cols] = shape(name);
      const fixed = spec.masks?.[name];
      if (fixed) return refit(name, fixed);
      if (method === 'sparsegpt') {
        const target =
          pattern.kind === 'nm' ? { nm: { n: pattern.n, m: pattern.m } } : { sparsity: spec.sparsity };
        const blockSize =
          pattern.kind === 'nm' ? nmBlockSize(spec.blockSize ?? 128, pattern.m) : spec.blockSize;
        const r = sparseGpt(w(name), rows, cols, input(name).hessian, {
          ...target,
          ...gptOptions(spec),
          blockSize,
        });
        return out(name, r.mask, r.weights);
      }
      const s = scores(name);
      const mask =
        pattern.kind === 'nm'
          ? nmMask(s, rows, cols, pattern.n, pattern.m)
          : unstructuredMask(s, rows, cols, spec.sparsity, method === 'wanda' ? 'row' : 'layer');
      return out(name, mask);
    });
  }

  if (pattern.kind === 'channels') {
    if (!b.shapes.w2) {
      throw new Error(
        `channel pruning removes FFN channels; block ${b.layer} has no dense FFN (a mixture of experts): use unstructured, N:M or heads`,
      );
    }
    const [dim, hidden] = shape('w2');
    // Gated FFNs: w1 (gate) and w3 (up) rows; plain ones (GPT-2, NeoX): w1 rows only.
    const inputSide = (['w1', 'w3'] as const).filter((n) => b.shapes[n]);
    // Channel j's score: its w2 column (output side), plus its w1/w3 rows for magnitude.
    const perChannel = groupScores(scores('w2'), dim, hidden, 'cols');
    if (method === 'magnitude') {
      for (const name of inputSide) {
        const rowScores = groupScores(magnitudeScores(w(name)), hidden, dim, 'rows');
        for (let j = 0; j < hidden; j++) perChannel[j]! += rowScores[j]!;
      }
    }
    const keep = structuredMask(perChannel, 1, hidden, spec.sparsity, { axis: 'cols' }).groupKeep;
    return [
      ...inputSide.map((n) => out(n, rowMask(keep, hidden, dim, 1))),
      refit('w2', colMask(keep, dim, hidden, 1)),
    ];
  }

  // Heads: query heads of wq (rows) and wo (columns); q is nHeads·headDim wide (≠ dim for Gemma).
  const [dim, qDim] = shape('wo');
  const hd = b.headDim;
  const nHeads = qDim / hd;
  const perHead = groupScores(scores('wo'), dim, qDim, 'cols', hd);
  if (method === 'magnitude') {
    const q = groupScores(magnitudeScores(w('wq')), qDim, dim, 'rows', hd);
    for (let h = 0; h < nHeads; h++) perHead[h]! += q[h]!;
  }
  const keep = structuredMask(perHead, 1, nHeads, spec.sparsity, { axis: 'cols' }).groupKeep;
  return [out('wq', rowMask(keep, qDim, dim, hd)), refit('wo', colMask(keep, dim, qDim, hd))];
}

function gptOptions(spec: BlockPruneSpec): { blockSize?: number; percdamp?: number } {
  return {
    ...(spec.blockSize !== undefined ? { blockSize: spec.blockSize } : {}),
    ...(spec.percdamp !== undefined ? { percdamp: spec.percdamp } : {}),
  };
}

/** SparseGPT's block size for N:M: the largest multiple of M not above the requested size. */
function nmBlockSize(blockSize: number, m: number): number {
  return Math.max(m, Math.floor(blockSize / m) * m);
}

/** Mask [rows, cols] keeping the rows of kept groups (group g = rows g·size..(g+1)·size). */
function rowMask(keep: Uint8Array, rows: number, cols: number, size: number): Uint8Array {
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) if (keep[Math.floor(r / size)]) mask.fill(1, r * cols, (r + 1) * cols);
  return mask;
}

/** Mask [rows, cols] keeping the columns of kept groups. */
function colMask(keep: Uint8Array, rows: number, cols: number, size: number): Uint8Array {
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) mask[r * cols + c] = keep[Math.floor(c / size)]!;
  return mask;
}
