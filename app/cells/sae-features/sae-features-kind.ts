/**
 * SAE features cell: what the latents of an SAE (the `sae` cell) respond to on a text. The run
 * browses the features once (workers/sae-jobs.ts `saeBrowseJob`: density, max and mean activation
 * per latent, top contexts and histograms, kept in the worker beside the SAE); the view then asks
 * the worker on demand for one feature's card, a prompt's active features, steering and ablation.
 * Sorting, the selected feature and the prompt / steering settings are view params: no re-run.
 */
import type { SaeBrowseSummary, SaeSummary } from '../../../workers/sae-jobs';
import type { Json } from '../../notebook/cell-runtime';
import type { CellKind } from '../cell-kind';

/** Most windows a browse may scan (each is one forward pass with the SAE run on every token). */
export const MAX_BROWSE_WINDOWS = 256;
/** Most contexts kept per feature. */
export const MAX_TOP_N = 64;

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

/** An integer param in [lo, hi], or a RangeError naming it. */
export function intParam(value: unknown, name: string, lo: number, hi: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < lo || n > hi)
    throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${String(value)}`);
  return n;
}

export const saeFeaturesKind: CellKind = {
  kind: 'sae-features',
  title: 'SAE features',
  description: "Browse an SAE's features: top contexts, logit effects, prompts, steering, ablation",
  version: 1,
  defaults: () => ({
    maxWindows: 8,
    topN: 8,
    sortBy: 'density',
    descending: true,
    feature: -1,
    prompt: 'Once upon a time',
    steerMode: 'add',
    steerValue: 8,
    steerTokens: 32,
    steerPrompt: 'Once upon a time',
  }),
  // Sorting, the open card and the prompt / steering settings only ask the kept browse.
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
  inputs: [
    { role: 'sae', label: 'SAE', kinds: ['sae'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
  async run({ cell, inputs, signal, services, progress }) {
    const sae = inputs.sae!.result.meta as unknown as SaeSummary;
    const saeCell = inputs.sae!.cell.id;
    if (sae.transcoder)
      throw new RangeError(
        `the SAE cell holds a transcoder (${sae.hook} → ${sae.transcoder.hookOut}); the feature browser reads SAEs`,
      );
    const { text, name } = inputs.text!.cell.params;
    const maxWindows = intParam(cell.params.maxWindows, 'windows', 1, MAX_BROWSE_WINDOWS);
    const topN = intParam(cell.params.topN, 'contexts per feature', 1, MAX_TOP_N);
    const fileName = String(name || 'text');
    progress(0, 'Browsing features…');
    const r = await services.runtime.saeBrowse(
      { saeCell, saeId: sae.saeId, text: String(text ?? ''), fileName, maxWindows, topN },
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
    return { meta: meta as unknown as Json, tables: r.tables };
  },
};
