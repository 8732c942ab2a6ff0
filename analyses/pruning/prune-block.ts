/**
 * Prune the linear layers of one block, given its dense weights and (for Wanda and SparseGPT) its
 * calibration input statistics. Pure: no model, no backend.
 *
 * - unstructured: magnitude compares |W| over the layer, Wanda compares |W|·‖X‖ within each output
 *   row, SparseGPT chooses per 128-column block by w²/[H⁻¹]²_jj and compensates the kept weights;
 * - N:M: the same scores, N kept in every M consecutive inputs (SparseGPT picks per group as it goes);
 * - channels: whole FFN channels j (row j of w1 and w3, column j of w2), scored by the sum of the
 *   criterion over the channel's w2 column for Wanda / SparseGPT (its output contribution
 *   |W2_ij|·‖x_j‖) and over all three for magnitude; SparseGPT then re-fits w2 on the kept channels;
 * - heads: whole query heads h (rows h·hd..(h+1)·hd of wq, the same columns of wo; k/v are shared by
 *   the heads of a GQA group and stay), scored over wo's columns (and wq's rows for magnitude);
 *   SparseGPT re-fits wo.
 */
import type { LinearWeightName } from '../../runtime/model/llama';
import type { BlockInputStats } from './calibration';
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

/** A block's dense matrices on the host with their [out, in] shapes. */
export interface BlockWeights {
  layer: number;
  weights: Partial<Record<LinearWeightName, Float32Array>>;
  shapes: Record<LinearWeightName, [number, number]>;
  headDim: number;
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

/** Weights an unstructured or N:M pattern prunes: every linear of the block. */
export const UNSTRUCTURED_TARGETS: readonly LinearWeightName[] = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'];

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
  const w = (name: LinearWeightName) => {
    const x = b.weights[name];
    if (!x) throw new Error(`block ${b.layer}: weight ${name} is missing`);
    return x;
  };
  const input = (name: LinearWeightName): InputStats => {
    const s = stats?.get(LINEAR_INPUT_HOOK[name]);
    if (!s)
      throw new Error(`block ${b.layer}: no calibration inputs for ${name} (${LINEAR_INPUT_HOOK[name]})`);
    return s;
  };
  const scores = (name: LinearWeightName): Float32Array => {
    const [rows, cols] = b.shapes[name];
    return method === 'magnitude'
      ? magnitudeScores(w(name))
      : wandaScores(w(name), rows, cols, input(name).columnNorms());
  };
  const out = (name: LinearWeightName, mask: Uint8Array, values?: Float32Array): PrunedWeight => {
    const [rows, cols] = b.shapes[name];
    return { layer: b.layer, name, rows, cols, mask, ...(values ? { values } : {}) };
  };
  const refit = (name: LinearWeightName, mask: Uint8Array): PrunedWeight => {
    if (method !== 'sparsegpt') return out(name, mask);
    const [rows, cols] = b.shapes[name];
    const r = sparseGpt(w(name), rows, cols, input(name).hessian, { mask, ...gptOptions(spec) });
    return out(name, r.mask, r.weights);
  };

  if (pattern.kind === 'nm') {
    for (const name of UNSTRUCTURED_TARGETS) {
      const cols = b.shapes[name][1];
      if (cols % pattern.m !== 0) {
        throw new Error(
          `${pattern.n}:${pattern.m} needs every matrix's input width to be a multiple of ${pattern.m}; blocks.${b.layer}.${name} has ${cols} inputs`,
        );
      }
    }
  }
  if (pattern.kind === 'unstructured' || pattern.kind === 'nm') {
    return UNSTRUCTURED_TARGETS.map((name) => {
      const [rows, cols] = b.shapes[name];
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
    const [dim, hidden] = b.shapes.w2;
    // Channel j's score: its w2 column (output side), plus its w1/w3 rows for magnitude.
    const perChannel = groupScores(scores('w2'), dim, hidden, 'cols');
    if (method === 'magnitude') {
      for (const name of ['w1', 'w3'] as const) {
        const rowScores = groupScores(magnitudeScores(w(name)), hidden, dim, 'rows');
        for (let j = 0; j < hidden; j++) perChannel[j]! += rowScores[j]!;
      }
    }
    const keep = structuredMask(perChannel, 1, hidden, spec.sparsity, { axis: 'cols' }).groupKeep;
    return [
      out('w1', rowMask(keep, hidden, dim, 1)),
      out('w3', rowMask(keep, hidden, dim, 1)),
      refit('w2', colMask(keep, dim, hidden, 1)),
    ];
  }

  // Heads: query heads of wq (rows) and wo (columns).
  const [dim] = b.shapes.wo;
  const hd = b.headDim;
  const nHeads = dim / hd;
  const perHead = groupScores(scores('wo'), dim, dim, 'cols', hd);
  if (method === 'magnitude') {
    const q = groupScores(magnitudeScores(w('wq')), dim, dim, 'rows', hd);
    for (let h = 0; h < nHeads; h++) perHead[h]! += q[h]!;
  }
  const keep = structuredMask(perHead, 1, nHeads, spec.sparsity, { axis: 'cols' }).groupKeep;
  return [out('wq', rowMask(keep, dim, dim, hd)), refit('wo', colMask(keep, dim, dim, hd))];
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
