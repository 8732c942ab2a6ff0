/**
 * MoE interventions cell: the loss on a text with experts disabled, a forced top-k or a router
 * temperature, against the plain model; and expert pruning by frequency or routing weight (ranked
 * on a separate calibration text) swept with a loss curve (workers/moe-lab-jobs.ts).
 */
import { MOE_INTERVENTION_OPTIONS, parseDisabledExperts } from '../../../analyses/moe/catalogue';
import type { MoeInterventionSummary } from '../../../workers/moe-lab-jobs';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { textKind, TEXT_INPUT } from '../text/text-kind';

/** The routing interventions the params ask for (undefined when none). */
function interventionsOf(p: { disabledExperts: string; forceTopK: number; routerTemperature: number }) {
  const disabled = parseDisabledExperts(p.disabledExperts);
  const layers = Object.fromEntries(
    Object.entries(disabled.layers).map(([l, e]) => [Number(l), { disabledExperts: e }]),
  );
  const out = {
    ...(disabled.all.length ? { disabledExperts: disabled.all } : {}),
    ...(p.forceTopK > 0 ? { forceTopK: p.forceTopK } : {}),
    ...(p.routerTemperature !== 1 ? { routerTemperature: p.routerTemperature } : {}),
    ...(Object.keys(layers).length ? { layers } : {}),
  };
  return Object.keys(out).length ? out : undefined;
}

export const moeInterventionsKind = defineCellKind({
  kind: 'moe-interventions',
  title: 'MoE interventions',
  description: 'Loss with experts disabled, top-k forced or router temperature changed; expert pruning swept',
  params: MOE_INTERVENTION_OPTIONS,
  inputs: [MODEL_INPUT, TEXT_INPUT, textKind.asInput('calibration', 'Calibration text')],
  async run({ params, inputs, signal, services, progress }) {
    const r = await services.runtime.moeInterventions(
      {
        text: inputs.text.params.text,
        fileName: inputs.text.params.name || 'text',
        interventions: interventionsOf(params),
        pruning:
          params.pruneBy === 'none'
            ? undefined
            : { by: params.pruneBy, drops: params.drops, calibrationText: inputs.calibration.params.text },
      },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) =>
          progress(p.total ? p.done / p.total : undefined, `Evaluation ${p.done} of ${p.total}`),
      },
    );
    const meta: MoeInterventionSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
