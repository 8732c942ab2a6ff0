/**
 * The attention lab's compute-free catalogue: the mask families (ids, labels, how each reads its
 * budget) and the best-configuration export, which reads a finished sweep's tables. The page
 * imports this (eslint/layers.js); the mask builders (masks/index.ts) add their kernels to these
 * entries in the worker.
 */
import { option, optionSchema } from '../options';

export { bestConfig, bestConfigJson, type BestConfig, type SweepTables } from './best-config';

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

/** A mask family as the page and the CLI list it (masks/index.ts adds its builder). */
export interface MaskFamilyEntry {
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
}

const entry = (f: Omit<MaskFamilyEntry, 'prunes' | 'oracle'> & Partial<MaskFamilyEntry>): MaskFamilyEntry =>
  Object.freeze({ prunes: 'entries', oracle: false, ...f });

/**
 * All families, in the order of issue 5 (masks/index.ts gives each its builder).
 *
 * @example
 * MASK_FAMILY_CATALOGUE.map((f) => f.id); // ['window-sink', 'topk', 'hip', …]
 */
export const MASK_FAMILY_CATALOGUE: readonly MaskFamilyEntry[] = Object.freeze([
  entry({
    id: 'window-sink',
    label: 'Sliding window + sinks (StreamingLLM)',
    budget: 'share-or-keys',
    densityRule: 'per-row',
  }),
  entry({
    id: 'topk',
    label: 'Exact top-k (oracle)',
    budget: 'share-or-keys',
    densityRule: 'per-row',
    oracle: true,
  }),
  entry({ id: 'hip', label: 'Hierarchical top-k (HiP)', budget: 'share', densityRule: 'per-row' }),
  entry({ id: 'block', label: 'Block-sparse', budget: 'share', densityRule: 'per-row' }),
  entry({
    id: 'block-permuted',
    label: 'Block-sparse, permuted keys (PBS, oracle)',
    budget: 'share',
    densityRule: 'per-row',
    oracle: true,
  }),
  entry({ id: 'chunk', label: 'Chunk similarity (DHSA)', budget: 'share', densityRule: 'per-row' }),
  entry({
    id: 'channel',
    label: 'Channel-approximate top-k (Double Sparsity)',
    budget: 'share',
    densityRule: 'per-row',
  }),
  entry({
    id: 'moa',
    label: 'Per-head windows (MoA, oracle)',
    budget: 'share',
    densityRule: 'global',
    oracle: true,
  }),
  entry({
    id: 'kv-norm-evict',
    label: 'Key-norm token eviction',
    budget: 'share-or-keys',
    densityRule: 'per-row',
  }),
  entry({
    id: 'mustafar',
    label: 'K/V element magnitude pruning (Mustafar)',
    budget: 'share',
    densityRule: 'per-row',
    prunes: 'kv-elements',
  }),
]);

// ── option schemas of the attention cells ────────────────────────────────

/** Most windows one probe run reads. */
export const MAX_PROBE_WINDOWS = 256;

/** Most points (families × budgets) one sweep may ask for: each is a full masked loss evaluation. */
export const MAX_SWEEP_POINTS = 200;

/** Default allowed loss increase (nats) of the best-configuration export. */
export const DEFAULT_MAX_LOSS_INCREASE = 0.05;

const FAMILY_IDS = MASK_FAMILY_CATALOGUE.map((f) => f.id) as readonly MaskFamilyId[];

/** Per-head probes: windows read; the metric, layer and head shown are view options. */
export const PROBE_OPTIONS = optionSchema({
  maxWindows: option.labelled('windows', option.integer(8, { min: 1, max: MAX_PROBE_WINDOWS })),
  metric: option.string('entropy'),
  layer: option.integer(0, { min: 0 }),
  head: option.integer(0, { min: 0 }),
});

/** One mask family on one document's attention at one layer (budget: share, or keys when > 1). */
export const MASK_OPTIONS = optionSchema({
  family: option.choice(FAMILY_IDS, 'topk'),
  budget: option.number(0.25, { min: 0 }),
  layer: option.integer(0, { min: 0 }),
  head: option.integer(0, { min: 0 }),
  document: option.integer(0, { min: 0 }),
});

export const SWEEP_X_AXES = ['density', 'attn_flops', 'kv_bytes'] as const;

/** Every family × budget's masked loss; the x axis and the export's loss limit are view options. */
export const SWEEP_OPTIONS = optionSchema({
  families: option.choices(FAMILY_IDS, ['window-sink', 'topk', 'block']),
  budgets: option.labelled('budgets', option.numbers([0.1, 0.25, 0.5, 1], { min: 0, minItems: 1 })),
  maxWindows: option.integer(1, { min: 1 }),
  xAxis: option.choice(SWEEP_X_AXES, 'density'),
  maxLossIncrease: option.number(DEFAULT_MAX_LOSS_INCREASE, { min: 0 }),
});
