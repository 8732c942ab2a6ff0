/**
 * SAE features cell: what the latents of an SAE (the `sae` cell) respond to on a text. The run
 * browses the features once (workers/sae-jobs.ts `saeBrowseJob`: density, max and mean activation
 * per latent, top contexts and histograms, kept in the worker beside the SAE); the view then asks
 * the worker on demand for one feature's card, a prompt's active features, steering and ablation.
 * Sorting, the selected feature and the prompt / steering settings are view params: no re-run.
 */
import { option, optionSchema, type OptionsOf } from '../../../analyses/options';
import type { SaeBrowseSummary } from '../../../workers/sae-jobs';
import { defineCellKind } from '../cell-kind';
import { saeKind } from '../sae/sae-kind';
import { TEXT_INPUT } from '../text/text-kind';
import { SORT_KEYS, type SortKey } from './features-view';

/** Most windows a browse may scan (each is one forward pass with the SAE run on every token). */
export const MAX_BROWSE_WINDOWS = 256;
/** Most contexts kept per feature. */
export const MAX_TOP_N = 64;

/**
 * The browse's settings (re-run) and the view's (`viewParams`: sorting, the open card, the prompt
 * and steering settings, which only ask the kept browse).
 */
export const SAE_FEATURES_PARAMS = optionSchema({
  maxWindows: option.integer(8, { min: 1, max: MAX_BROWSE_WINDOWS }),
  topN: option.integer(8, { min: 1, max: MAX_TOP_N }),
  sortBy: option.choice(Object.keys(SORT_KEYS) as SortKey[], 'density'),
  descending: option.boolean(true),
  /** The open feature card (−1: none). */
  feature: option.integer(-1, { min: -1 }),
  prompt: option.string('Once upon a time'),
  steerMode: option.choice(['add', 'clamp'], 'add'),
  steerValue: option.number(8),
  steerTokens: option.integer(32, { min: 1 }),
  steerPrompt: option.string('Once upon a time'),
});
export type SaeFeaturesParams = OptionsOf<typeof SAE_FEATURES_PARAMS.fields>;

/** The cell's result meta: the browse's counts and which kept SAE it browsed. */
export interface SaeFeaturesMeta {
  summary: SaeBrowseSummary;
  /** Id of the SAE cell (the worker keeps the SAE under it). */
  saeCell: string;
  /** `SaeSummary.saeId` of the SAE browsed. */
  saeId: string;
  hook: string;
  /** Text file name, for ablation requests and notes. */
  fileName: string;
  maxWindows: number;
}

export const saeFeaturesKind = defineCellKind({
  kind: 'sae-features',
  title: 'SAE features',
  description: "Browse an SAE's features: top contexts, logit effects, prompts, steering, ablation",
  version: 1,
  params: SAE_FEATURES_PARAMS,
  viewParams: [
    'sortBy',
    'descending',
    'feature',
    'prompt',
    'steerMode',
    'steerValue',
    'steerTokens',
    'steerPrompt',
  ],
  // The browse (contexts, histograms) lives in the worker beside the SAE: a restored result shows
  // its list, but cards, prompts, steering and ablation need a new run.
  needsLive: true,
  inputs: [saeKind.asInput('sae', 'SAE'), TEXT_INPUT] as const,
  async run({ params, inputs, signal, services, progress }) {
    const sae = inputs.sae.meta;
    const saeCell = inputs.sae.cell.id;
    if (sae.transcoder)
      throw new RangeError(
        `the SAE cell holds a transcoder (${sae.hook} → ${sae.transcoder.hookOut}); the feature browser reads SAEs`,
      );
    const { text, name } = inputs.text.params;
    const { maxWindows, topN } = params;
    const fileName = name || 'text';
    progress(0, 'Browsing features…');
    const r = await services.runtime.saeBrowse(
      { saeCell, saeId: sae.saeId, text, fileName, maxWindows, topN },
      {
        signal,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Window ${p.done} of ${p.total}`),
      },
    );
    const meta: SaeFeaturesMeta = {
      summary: { ...r.summary },
      saeCell,
      saeId: sae.saeId,
      hook: sae.hook,
      fileName,
      maxWindows,
    };
    return { meta, tables: r.tables };
  },
});
