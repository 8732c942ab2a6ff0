/**
 * The mask zoo: an explicit, frozen registry of sparse-attention mask families and one entry point,
 * `buildMask`. Every family is a pure function of one layer's q/k (after rope) and a budget; none
 * runs the model. Budget rule: see `rowBudgets` in common.ts (the diagonal is always kept and counted).
 */
import type { HeadMasks, LayerPattern, LayerQK } from '../types';
import { blockMask } from './block';
import { blockPermutedMask } from './block-permuted';
import { channelMask, type ChannelCalibration } from './channel';
import { chunkMask } from './chunk';
import { hipMask } from './hip';
import { kvNormEvictMask } from './kv-norm-evict';
import { moaMask } from './moa';
import { mustafarMask } from './mustafar';
import { topkMask } from './topk';
import { windowSinkMask } from './window-sink';

export type MaskFamilyId =
  | 'window-sink'
  | 'topk'
  | 'hip'
  | 'block'
  | 'block-permuted'
  | 'chunk'
  | 'channel'
  | 'moa'
  | 'kv-norm-evict'
  | 'mustafar';

/** How a family reads its budget: a share of causal entries only, or also an absolute key count > 1. */
export type BudgetKind = 'share' | 'share-or-keys';

/** Options of every family in one object; each family reads only its own fields. */
export interface MaskOptions {
  /** window-sink: initial tokens always kept (default 4). */
  sinks?: number;
  /** block, block-permuted: block size B (default 16). */
  blockSize?: number;
  /** block-permuted: segment size, a multiple of blockSize (default 4·blockSize). */
  segmentSize?: number;
  /** chunk: chunk length (default 16). */
  chunkSize?: number;
  /** channel: required, from `calibrateChannels` on held-out text. */
  calibration?: ChannelCalibration;
  /** moa: candidate window sizes (default 1..T). */
  windows?: readonly number[];
  /** moa, block-permuted: recorded attention; default the causal softmax of q·k/√d. */
  pattern?: LayerPattern;
}

export interface MaskFamily {
  id: MaskFamilyId;
  label: string;
  budget: BudgetKind;
  /** Density rule the family meets: every row within one entry, or only the global total. */
  densityRule: 'per-row' | 'global';
  /**
   * What the budget removes: attention entries (the mask), or K and V elements inside each cached
   * token's vectors (Mustafar: the mask keeps every causal entry, `maskedLoss` prunes K and V).
   */
  prunes: 'entries' | 'kv-elements';
  /**
   * An oracle needs what a deployed kernel does not have before it attends: the full scores of
   * every key (exact top-k), or the window's own dense attention (MoA's per-head windows chosen on
   * the scored text, the permuted blocks' key importance). Its points are references, never the
   * best deployable configuration (`bestConfig`).
   */
  oracle: boolean;
  build: (input: LayerQK, budget: number, options: MaskOptions) => HeadMasks;
}

const family = (f: Omit<MaskFamily, 'prunes' | 'oracle'> & Partial<MaskFamily>): MaskFamily =>
  Object.freeze({ prunes: 'entries', oracle: false, ...f });

/**
 * All families, in the order of issue 5.
 *
 * @example
 * MASK_FAMILIES.map((f) => f.id); // ['window-sink', 'topk', 'hip', …]
 */
export const MASK_FAMILIES: readonly MaskFamily[] = Object.freeze([
  family({
    id: 'window-sink',
    label: 'Sliding window + sinks (StreamingLLM)',
    budget: 'share-or-keys',
    densityRule: 'per-row',
    build: windowSinkMask,
  }),
  family({
    id: 'topk',
    label: 'Exact top-k (oracle)',
    budget: 'share-or-keys',
    densityRule: 'per-row',
    oracle: true,
    build: (i, b) => topkMask(i, b),
  }),
  family({
    id: 'hip',
    label: 'Hierarchical top-k (HiP)',
    budget: 'share',
    densityRule: 'per-row',
    build: (i, b) => hipMask(i, b),
  }),
  family({ id: 'block', label: 'Block-sparse', budget: 'share', densityRule: 'per-row', build: blockMask }),
  family({
    id: 'block-permuted',
    label: 'Block-sparse, permuted keys (PBS)',
    budget: 'share',
    densityRule: 'per-row',
    oracle: true,
    build: blockPermutedMask,
  }),
  family({
    id: 'chunk',
    label: 'Chunk similarity (DHSA)',
    budget: 'share',
    densityRule: 'per-row',
    build: chunkMask,
  }),
  family({
    id: 'channel',
    label: 'Channel-approximate top-k (Double Sparsity)',
    budget: 'share',
    densityRule: 'per-row',
    build: channelMask,
  }),
  family({
    id: 'moa',
    label: 'Per-head windows (MoA)',
    budget: 'share',
    densityRule: 'global',
    oracle: true,
    build: moaMask,
  }),
  family({
    id: 'kv-norm-evict',
    label: 'Key-norm token eviction',
    budget: 'share-or-keys',
    densityRule: 'per-row',
    build: (i, b) => kvNormEvictMask(i, b),
  }),
  family({
    id: 'mustafar',
    label: 'K/V element magnitude pruning (Mustafar)',
    budget: 'share',
    densityRule: 'per-row',
    prunes: 'kv-elements',
    build: (i, b) => mustafarMask(i, b),
  }),
]);

/**
 * Look a family up by id.
 *
 * @example
 * maskFamily('topk').budget; // 'share-or-keys'
 * @throws Error naming the known ids for an unknown one.
 */
export function maskFamily(id: string): MaskFamily {
  const f = MASK_FAMILIES.find((x) => x.id === id);
  if (!f) throw new Error(`unknown mask family "${id}"; known: ${MASK_FAMILIES.map((x) => x.id).join(', ')}`);
  return f;
}

/**
 * Build one family's masks for a layer.
 *
 * @example
 * const m = buildMask('hip', layerQK, 0.25);
 * maskDensity(m).overall; // ≈ 0.25
 */
export function buildMask(
  id: MaskFamilyId | string,
  input: LayerQK,
  budget: number,
  options: MaskOptions = {},
): HeadMasks {
  return maskFamily(id).build(input, budget, options);
}

export { rowBudgets, attentionFromQK, causalEntries } from './common';
export { hipMissRate, hipSelect } from './hip';
export { calibrateChannels, defaultChannelRank, type ChannelCalibration } from './channel';
export { moaPlan, type MoaPlan } from './moa';
export { kvNormEvictKeep, type KvKeepSets } from './kv-norm-evict';
export { keptElements, pruneKvElements } from './mustafar';
export { keyImportance } from './block-permuted';
export {
  windowSinkMask,
  topkMask,
  hipMask,
  blockMask,
  blockPermutedMask,
  chunkMask,
  channelMask,
  moaMask,
  kvNormEvictMask,
  mustafarMask,
};
