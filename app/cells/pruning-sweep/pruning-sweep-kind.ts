/**
 * Pruning sweep cell: what pruning costs in loss and buys in weights, FLOPs and bytes — every
 * method × pattern × sparsity pruned from the dense weights (analyses/pruning/sweep.ts, run by
 * workers/pruning-jobs.ts) and scored on held-out text. The worker keeps the pruned variants under
 * the cell's id, so the view picks a point, a layer and a matrix (view params: no re-run) and asks
 * for its masks or its exported files without pruning again.
 */
import { MAX_PRUNING_POINTS, pointCount, SWEEP_OPTIONS } from '../../../analyses/pruning/catalogue';
import type { PruningSweepSummary } from '../../../workers/runtime-types';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { TEXT_INPUT } from '../text/text-kind';

/** What a sweep is doing after `done` of `total` progress units (dense first, then each point). */
export function phase(done: number, total: number, label: string): string {
  if (done >= total) return 'Done';
  if (done === 0) return 'Dense loss…';
  return `Pruned ${done} of ${total - 1} points (last: ${label})`;
}

export const pruningSweepKind = defineCellKind({
  kind: 'pruning-sweep',
  title: 'Pruning sweep',
  description: 'Loss against sparsity, FLOPs and bytes for magnitude, Wanda and SparseGPT pruning',
  params: SWEEP_OPTIONS,
  // Which point, layer and matrix are shown, the axes and the microscope's window only choose
  // among computed results.
  viewParams: ['xAxis', 'yAxis', 'point', 'layer', 'matrix', 'microRow', 'microGroup'],
  // The pruned variants live in the worker: a result restored after a reload shows its curves,
  // but its masks and exports need a new run.
  needsLive: true,
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ cell, params, inputs, signal, services, progress }) {
    const { methods, patterns, sparsities, calibrationWindows, maxWindows, allocation } = params;
    const { text, name } = inputs.text.params;
    if (sparsities.length === 0 && patterns.some((p) => !p.includes(':')))
      throw new RangeError('give at least one sparsity level, e.g. 0.3, 0.5, 0.7');
    const n = pointCount(methods.length, patterns, sparsities.filter((s) => s > 0).length);
    if (n > MAX_PRUNING_POINTS)
      throw new RangeError(`${n} points; a sweep runs at most ${MAX_PRUNING_POINTS}`);
    progress(0, 'Dense loss…');
    const r = await services.runtime.pruningSweep(
      {
        cellId: cell.id,
        text,
        methods,
        patterns,
        sparsities,
        calibrationWindows,
        maxWindows,
        allocation,
        fileName: name || 'text',
      },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, phase(p.done, p.total, p.label)),
      },
    );
    const meta: PruningSweepSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
