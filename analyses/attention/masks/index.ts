/**
 * The mask zoo: an explicit, frozen registry of sparse-attention mask families and one entry point,
 * `buildMask`. Every family is a pure function of one layer's q/k (after rope) and a budget; none
 * runs the model. Budget rule: see `rowBudgets` in common.ts (the diagonal is always kept and counted).
 */
import {
  MASK_FAMILY_CATALOGUE,
  type BudgetKind,
  type MaskFamilyEntry,
  type MaskFamilyId,
} from '../catalogue';
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

export type { BudgetKind, MaskFamilyId };

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

export interface MaskFamily extends MaskFamilyEntry {
  build: (input: LayerQK, budget: number, options: MaskOptions) => HeadMasks;
}

/** Each family's builder; ids, labels, budget rules and oracle marks come from the catalogue. */
const BUILDERS: Readonly<Record<MaskFamilyId, MaskFamily['build']>> = {
  'window-sink': windowSinkMask,
  topk: (i, b) => topkMask(i, b),
  hip: (i, b) => hipMask(i, b),
  block: blockMask,
  'block-permuted': blockPermutedMask,
  chunk: chunkMask,
  channel: channelMask,
  moa: moaMask,
  'kv-norm-evict': (i, b) => kvNormEvictMask(i, b),
  mustafar: (i, b) => mustafarMask(i, b),
};

/**
 * All families, in the order of issue 5.
 *
 * @example
 * MASK_FAMILIES.map((f) => f.id); // ['window-sink', 'topk', 'hip', …]
 */
export const MASK_FAMILIES: readonly MaskFamily[] = Object.freeze(
  MASK_FAMILY_CATALOGUE.map((f) => Object.freeze({ ...f, build: BUILDERS[f.id] })),
);

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
