/**
 * Pruning sweep cell: what pruning costs in loss and buys in weights, FLOPs and bytes — every
 * method × pattern × sparsity pruned from the dense weights (analyses/pruning/sweep.ts, run by
 * workers/pruning-jobs.ts) and scored on held-out text. The worker keeps the pruned variants under
 * the cell's id, so the view picks a point, a layer and a matrix (view params: no re-run) and asks
 * for its masks or its exported files without pruning again.
 */
import type { ModelHandle, PruningSweepSummary } from '../../../workers/runtime-types';
import type { Json } from '../../notebook/cell-runtime';
import type { CellKind } from '../cell-kind';
import { numberList } from '../attention-sweep/attention-sweep-kind';

export const METHOD_CHOICES = ['magnitude', 'wanda', 'sparsegpt'] as const;
export const PATTERN_CHOICES = ['unstructured', '2:4', '4:8', 'channels', 'heads'] as const;

/** Most points (methods × (levels per level-pattern + 1 per N:M)) one cell may ask for. */
export const MAX_PRUNING_POINTS = 120;

/** The points a request makes: N:M patterns have one level each (1 − N/M). */
export function pointCount(methods: number, patterns: readonly string[], levels: number): number {
  return methods * patterns.reduce((a, p) => a + (/^\d+:\d+$/.test(p) ? 1 : levels), 0);
}

/** The strings of a list param that are among `choices`, in the choices' order. */
export function choiceList(value: unknown, choices: readonly string[]): string[] {
  const set = new Set((Array.isArray(value) ? value : []).map(String));
  return choices.filter((c) => set.has(c));
}

/** What a sweep is doing after `done` of `total` progress units (dense first, then each point). */
export function phase(done: number, total: number, label: string): string {
  if (done >= total) return 'Done';
  if (done === 0) return 'Dense loss…';
  return `Pruned ${done} of ${total - 1} points (last: ${label})`;
}

export const pruningSweepKind: CellKind = {
  kind: 'pruning-sweep',
  title: 'Pruning sweep',
  description: 'Loss against sparsity, FLOPs and bytes for magnitude, Wanda and SparseGPT pruning',
  defaults: () => ({
    methods: ['magnitude', 'wanda', 'sparsegpt'],
    patterns: ['unstructured', '2:4'],
    sparsities: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    calibrationWindows: 4,
    maxWindows: 2,
    allocation: 'uniform',
    xAxis: 'sparsity',
    yAxis: 'loss',
    point: -1,
    layer: 0,
    matrix: 'w1',
    microRow: 0,
    microGroup: 0,
  }),
  // Which point, layer and matrix are shown, the axes and the microscope's window only choose
  // among computed results.
  viewParams: ['xAxis', 'yAxis', 'point', 'layer', 'matrix', 'microRow', 'microGroup'],
  // The pruned variants live in the worker: a result restored after a reload shows its curves,
  // but its masks and exports need a new run.
  needsLive: true,
  inputs: [
    { role: 'model', label: 'Model', kinds: ['model'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
  async run({ cell, inputs, signal, services, progress }) {
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const { text, name } = inputs.text!.cell.params;
    const methods = choiceList(cell.params.methods, METHOD_CHOICES);
    const patterns = choiceList(cell.params.patterns, PATTERN_CHOICES);
    const sparsities = numberList(cell.params.sparsities);
    if (methods.length === 0) throw new RangeError('pick at least one method');
    if (patterns.length === 0) throw new RangeError('pick at least one pattern');
    if (sparsities.length === 0 && patterns.some((p) => !p.includes(':')))
      throw new RangeError('give at least one sparsity level, e.g. 0.3, 0.5, 0.7');
    const n = pointCount(methods.length, patterns, new Set(sparsities.filter((s) => s > 0)).size);
    if (n > MAX_PRUNING_POINTS)
      throw new RangeError(`${n} points; a sweep runs at most ${MAX_PRUNING_POINTS}`);
    progress(0, 'Dense loss…');
    const r = await services.runtime.pruningSweep(
      {
        cellId: cell.id,
        text: String(text ?? ''),
        methods,
        patterns,
        sparsities,
        calibrationWindows: Number(cell.params.calibrationWindows),
        maxWindows: Number(cell.params.maxWindows),
        allocation: cell.params.allocation === 'sensitivity' ? 'sensitivity' : 'uniform',
        fileName: String(name || 'text'),
      },
      {
        signal,
        model: model.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, phase(p.done, p.total, p.label)),
      },
    );
    const meta: PruningSweepSummary = r.summary;
    return { meta: JSON.parse(JSON.stringify(meta)) as Json, tables: r.tables };
  },
};
