/**
 * The MoE lab's compute-free catalogue: the routing cell's options. The page imports this
 * (eslint/layers.js); the routing statistics run in the worker.
 */
import { option, optionSchema } from '../options';

/** Most tokens per domain a routing request may route (bounds the job's length). */
export const MAX_MOE_TOKENS = 1 << 16;

/** Tokens routed per domain; the layer and view shown are view options. */
export const ROUTING_OPTIONS = optionSchema({
  maxTokens: option.labelled('tokens per domain', option.integer(2048, { min: 1, max: MAX_MOE_TOKENS })),
  layer: option.integer(0, { min: 0 }),
  view: option.string('usage'),
});

/** The MoE lab cell's views of one routing report. */
export const MOE_LAB_VIEWS = {
  coactivation: 'Co-activation (share of expert i’s tokens that also chose j)',
  'token-expert': 'Token → first-choice expert per layer',
  balance: 'Load balancing (LBL at both scopes, top-k mass, TLS) and cross-layer consistency',
  chunks: 'Chunk-level sparsity (CLS against chunk length)',
  vocabulary: 'Vocabulary specialisation (top tokens per expert)',
} as const;
export type MoeLabView = keyof typeof MOE_LAB_VIEWS;
const LAB_VIEW_IDS = Object.keys(MOE_LAB_VIEWS) as MoeLabView[];

/** Most tokens the token → expert map shows. */
export const MAX_MAP_TOKENS = 2048;

/**
 * The MoE lab cell routing texts through a model: the bundled per-domain corpus or the user's own
 * text (one domain), with the micro-batch scope of the LBL (0 = one document) and the view shown.
 */
/** The report options and view params the MoE lab and routing-log cells share. */
const REPORT_FIELDS = {
  microBatchTokens: option.labelled(
    'micro-batch tokens (0 = one document)',
    option.integer(0, { min: 0, max: MAX_MOE_TOKENS }),
  ),
  mapTokens: option.labelled('tokens in the map', option.integer(128, { min: 1, max: MAX_MAP_TOKENS })),
  layer: option.integer(0, { min: 0 }),
  view: option.choice(LAB_VIEW_IDS, 'coactivation'),
};

export const MOE_LAB_OPTIONS = optionSchema({
  source: option.choice(['corpus', 'text'] as const, 'corpus'),
  text: option.string('', { maxLength: 1 << 22 }),
  textDomain: option.string('text', { maxLength: 64 }),
  maxTokens: option.labelled('tokens per domain', option.integer(2048, { min: 1, max: MAX_MOE_TOKENS })),
  ...REPORT_FIELDS,
});

/** The routing-log cell: Parquet URLs (one per line, read by Range requests); picked files are added by the cell. */
export const MOE_LOG_OPTIONS = optionSchema({
  urls: option.string('', { maxLength: 1 << 16 }),
  ...REPORT_FIELDS,
});

/** Auxiliary-loss-free balancing simulated on the routing of the cell's input text. */
export const MOE_BALANCE_OPTIONS = optionSchema({
  maxTokens: option.labelled('tokens routed', option.integer(4096, { min: 16, max: MAX_MOE_TOKENS })),
  rate: option.labelled('update rate u', option.number(0.001, { min: 1e-6, max: 1 })),
  stepTokens: option.labelled('tokens per step', option.integer(64, { min: 1, max: 65536 })),
  epochs: option.labelled('passes', option.integer(1, { min: 1, max: 100 })),
  layer: option.integer(0, { min: 0 }),
});

/**
 * Routing interventions, and the expert-pruning sweep (experts ranked on a calibration text, the
 * loss measured on the evaluation text).
 */
export const MOE_INTERVENTION_OPTIONS = optionSchema({
  disabledExperts: option.labelled('disabled experts (L:E, *:E)', option.string('', { maxLength: 4096 })),
  forceTopK: option.labelled('force top-k (0 = the model’s)', option.integer(0, { min: 0, max: 1024 })),
  routerTemperature: option.labelled('router temperature', option.number(1, { min: 0.01, max: 100 })),
  pruneBy: option.choice(['none', 'frequency', 'weight'] as const, 'frequency'),
  drops: option.labelled(
    'experts dropped per layer',
    option.numbers([0, 1, 2, 4], { integer: true, min: 0, maxItems: 64 }),
  ),
});

/**
 * "L:E, *:E" → per-layer disabled experts (`*` = every layer), as the CLI's --disable-expert.
 *
 * @example
 * parseDisabledExperts('0:3, *:1'); // { all: [1], layers: { 0: [3] } }
 * @throws RangeError naming the item that is not LAYER:EXPERT.
 */
export function parseDisabledExperts(spec: string): { all: number[]; layers: Record<number, number[]> } {
  const out: { all: number[]; layers: Record<number, number[]> } = { all: [], layers: {} };
  for (const item of spec.split(/[,\s]+/).filter((s) => s !== '')) {
    const m = /^(\*|\d+):(\d+)$/.exec(item);
    if (!m)
      throw new RangeError(
        `disabled experts: "${item}" is not LAYER:EXPERT (e.g. 0:3, or *:3 for every layer)`,
      );
    if (m[1] === '*') out.all.push(Number(m[2]));
    else (out.layers[Number(m[1])] ??= []).push(Number(m[2]));
  }
  return out;
}
