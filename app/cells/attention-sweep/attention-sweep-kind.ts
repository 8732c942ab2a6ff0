/**
 * Mask sweep cell: what each sparse-attention family costs — loss with the mask applied inside the
 * forward pass, for every family × budget, over the first windows of a text
 * (analyses/attention/mask-sweep.ts, run by workers/attention-jobs.ts). The x axis of the curves
 * (density, attention FLOPs, KV bytes) is view state of the component: it must not re-run the sweep.
 * So is the max loss increase of the best-configuration export (analyses/attention/best-config.ts),
 * computed in the browser from the result's points and per-head tables.
 */
import type { ModelHandle, SweepJobSummary } from '../../../workers/runtime-types';
import type { CellKind } from '../cell-kind';

/** Most points (families × budgets) one cell may ask for: each is a full masked loss evaluation. */
export const MAX_SWEEP_POINTS = 200;

/** Default allowed loss increase (nats) of the best-configuration export. */
export const DEFAULT_MAX_LOSS_INCREASE = 0.05;

/** Numbers of a param that may be a list or a comma-separated string. */
export function numberList(value: unknown): number[] {
  const parts = Array.isArray(value) ? value : String(value ?? '').split(',');
  return parts.map((v) => Number(v)).filter((v) => String(v).trim() !== '' && Number.isFinite(v));
}

export const attentionSweepKind: CellKind = {
  kind: 'attention-sweep',
  title: 'Mask sweep',
  description: 'Loss against density, attention FLOPs and KV bytes for each sparse-attention family',
  defaults: () => ({
    families: ['window-sink', 'topk', 'block'],
    budgets: [0.1, 0.25, 0.5, 1],
    maxWindows: 1,
    xAxis: 'density',
    maxLossIncrease: DEFAULT_MAX_LOSS_INCREASE,
  }),
  // 1: the result also holds the per-head table (`heads`) the best-config export reads.
  version: 1,
  // The x axis only chooses how the computed points are drawn, the max loss increase which of them
  // is exported.
  viewParams: ['xAxis', 'maxLossIncrease'],
  inputs: [
    { role: 'model', label: 'Model', kinds: ['model'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
  async run({ cell, inputs, signal, services, progress }) {
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const { text, name } = inputs.text!.cell.params;
    const families = (Array.isArray(cell.params.families) ? cell.params.families : []).map(String);
    const budgets = numberList(cell.params.budgets);
    const maxWindows = Number(cell.params.maxWindows);
    if (budgets.length === 0) throw new RangeError('give at least one budget, e.g. 0.1, 0.25, 0.5, 1');
    if (families.length * budgets.length > MAX_SWEEP_POINTS)
      throw new RangeError(
        `${families.length * budgets.length} points; a sweep runs at most ${MAX_SWEEP_POINTS}`,
      );
    progress(0, 'Dense loss…');
    const r = await services.runtime.attentionSweep(
      { text: String(text ?? ''), families, budgets, maxWindows, fileName: String(name || 'text') },
      {
        signal,
        model: model.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Point ${p.done} of ${p.total}`),
      },
    );
    const meta: SweepJobSummary = r.summary;
    return { meta: { ...meta }, tables: r.tables };
  },
};
