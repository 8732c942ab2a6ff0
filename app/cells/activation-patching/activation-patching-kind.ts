/**
 * Activation patching cell: a clean and a corrupted prompt of equal token length, a metric (logit
 * difference answer − wrong, or the answer's loss) and a hook patched from the clean run into the
 * corrupted one — all positions at once, each position, or each head (workers/interp-jobs.ts
 * patchJob). Shows "restored" = (patched − corrupted) / (clean − corrupted) as heatmaps.
 */
import { PATCHING_OPTIONS } from '../../../analyses/interp/catalogue';
import type { PatchJobSummary } from '../../../workers/interp-jobs';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';

export interface PatchingMeta extends PatchJobSummary {
  positions: 'all' | 'each' | 'heads';
}

export const activationPatchingKind = defineCellKind({
  kind: 'activation-patching',
  title: 'Activation patching',
  description:
    'Which layers, positions and heads carry a prediction: patch clean activations into a corrupted run',
  params: PATCHING_OPTIONS,
  inputs: [MODEL_INPUT],
  waitingFor: (p) =>
    p.clean.trim() && p.corrupted.trim() && p.answer ? undefined : 'give both prompts and the answer',
  async run({ params, inputs, signal, services, progress }) {
    progress(0, 'Patching…');
    const { positions, ...rest } = params;
    const r = await services.runtime.patching(
      { ...rest, positions: positions === 'each' ? 'each' : 'all', perHead: positions === 'heads' },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Run ${p.done} of ${p.total}`),
      },
    );
    const meta: PatchingMeta = { ...r.summary, positions };
    return { meta, tables: r.tables };
  },
});
