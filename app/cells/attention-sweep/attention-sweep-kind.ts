/**
 * Mask sweep cell: what each sparse-attention family costs — loss with the mask applied inside the
 * forward pass, for every family × budget, over the first windows of a text
 * (analyses/attention/mask-sweep.ts, run by workers/attention-jobs.ts). The x axis of the curves
 * (density, attention FLOPs, KV bytes) is view state of the component: it must not re-run the sweep.
 * So is the max loss increase of the best-configuration export (analyses/attention/best-config.ts),
 * computed in the browser from the result's points and per-head tables.
 */
import { MAX_SWEEP_POINTS, SWEEP_OPTIONS } from '../../../analyses/attention/catalogue';
import type { SweepJobSummary } from '../../../workers/runtime-types';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { TEXT_INPUT } from '../text/text-kind';

export const attentionSweepKind = defineCellKind({
  kind: 'attention-sweep',
  title: 'Mask sweep',
  description: 'Loss against density, attention FLOPs and KV bytes for each sparse-attention family',
  params: SWEEP_OPTIONS,
  // 1: the result also holds the per-head table (`heads`) the best-config export reads.
  version: 1,
  // The x axis only chooses how the computed points are drawn, the max loss increase which of them
  // is exported.
  viewParams: ['xAxis', 'maxLossIncrease'],
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ params, inputs, signal, services, progress }) {
    const { families, budgets, maxWindows } = params;
    const { text, name } = inputs.text.params;
    if (families.length * budgets.length > MAX_SWEEP_POINTS)
      throw new RangeError(
        `${families.length * budgets.length} points; a sweep runs at most ${MAX_SWEEP_POINTS}`,
      );
    progress(0, 'Dense loss…');
    const r = await services.runtime.attentionSweep(
      { text, families, budgets, maxWindows, fileName: name || 'text' },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Point ${p.done} of ${p.total}`),
      },
    );
    const meta: SweepJobSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
