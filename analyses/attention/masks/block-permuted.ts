/**
 * Block-sparse attention after a key permutation ("Sparser Block-Sparse Attention via Token
 * Permutation"): keys are reordered within segments of S tokens (S a multiple of B) by importance,
 * so the few keys that draw most attention gather into few blocks and one kept block carries more
 * mass. Permuting only inside segments keeps causality at segment level: a query block uses the
 * permuted blocks of earlier segments, and its own segment in original order (plain causal blocks,
 * diagonal first), exactly like the unpermuted `block` family. Kept blocks map back to positions.
 */
import type { HeadMasks, LayerPattern, LayerQK } from '../types';
import { blockSelect, plainBlocks, type BlockOptions, type KeyBlock } from './block';
import { attentionFromQK } from './common';

export interface BlockPermutedOptions extends BlockOptions {
  /** Segment size S, a multiple of blockSize. Default 4 × blockSize. */
  segmentSize?: number;
  /** Attention to rank keys by; default the causal softmax of q·k/√d (`attentionFromQK`). */
  pattern?: LayerPattern;
}

/**
 * Key importance per head: the mean attention a key receives from the queries that can see it.
 * Averaging (not summing) stops early keys winning only because more queries see them. Computed
 * once per window, so like the paper's query-aware ranking it reads later queries too.
 *
 * @example
 * keyImportance(pattern); // Float64Array [nHeads, T]
 */
export function keyImportance(pattern: LayerPattern): Float64Array {
  const { T, nHeads, probs } = pattern;
  const out = new Float64Array(nHeads * T);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) {
      const off = (h * T + i) * T;
      for (let j = 0; j <= i; j++) out[h * T + j] = out[h * T + j]! + probs[off + j]!;
    }
    for (let j = 0; j < T; j++) out[h * T + j] = out[h * T + j]! / (T - j);
  }
  return out;
}

/**
 * Permuted block-sparse mask.
 *
 * @example
 * blockPermutedMask(input, 0.25, { blockSize: 16, segmentSize: 64 });
 */
export function blockPermutedMask(
  input: LayerQK,
  budget: number,
  options: BlockPermutedOptions = {},
): HeadMasks {
  const B = options.blockSize ?? 16;
  const S = options.segmentSize ?? 4 * B;
  if (!Number.isInteger(S) || S < B || S % B !== 0) {
    throw new Error(`segmentSize must be a positive multiple of blockSize ${B}; got ${S}`);
  }
  const pattern = options.pattern ?? attentionFromQK(input);
  if (pattern.T !== input.T || pattern.nHeads !== input.nHeads) {
    throw new Error(
      `pattern is [${pattern.nHeads}, ${pattern.T}, ${pattern.T}]; q/k are for ${input.nHeads} heads × ${input.T} tokens`,
    );
  }
  const { T, nHeads } = input;
  const imp = keyImportance(pattern);
  // Permuted blocks per head and (complete or not) segment, built once.
  const segBlocks: KeyBlock[][][] = [];
  for (let h = 0; h < nHeads; h++) {
    const perSeg: KeyBlock[][] = [];
    for (let s0 = 0; s0 < T; s0 += S) {
      const keys = Array.from({ length: Math.min(S, T - s0) }, (_, t) => s0 + t);
      keys.sort((a, b) => imp[h * T + b]! - imp[h * T + a]! || b - a);
      const blocks: KeyBlock[] = [];
      for (let t = 0; t < keys.length; t += B) blocks.push({ keys: Int32Array.from(keys.slice(t, t + B)) });
      perSeg.push(blocks);
    }
    segBlocks.push(perSeg);
  }
  return blockSelect(
    input,
    budget,
    B,
    (h, q0, q1) => {
      const seg = Math.floor(q0 / S);
      const own = plainBlocks(seg * S, q0, q1, B);
      return own.concat(...segBlocks[h]!.slice(0, seg));
    },
    'block-permuted',
  );
}
