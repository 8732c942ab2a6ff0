/**
 * Direct logit attribution cell: the final residual at one position split into the embeddings,
 * each head, each MLP / MoE output and the biases, each projected on unembed(answer) − unembed(wrong)
 * with the final norm's scale frozen (workers/interp-jobs.ts dlaJob). The parts sum to the logit
 * difference.
 */
import { DLA_OPTIONS } from '../../../analyses/interp/catalogue';
import type { DlaJobSummary } from '../../../workers/interp-jobs';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';

export const logitAttributionKind = defineCellKind({
  kind: 'logit-attribution',
  title: 'Direct logit attribution',
  description: 'Which heads and MLPs write the answer: the final residual split into parts on answer − wrong',
  params: DLA_OPTIONS,
  inputs: [MODEL_INPUT],
  waitingFor: (p) =>
    p.prompt.trim() && p.answer && p.wrong ? undefined : 'give a prompt, the answer and the wrong token',
  async run({ params, inputs, signal, services, progress }) {
    progress(0, 'Attributing…');
    const r = await services.runtime.logitAttribution(
      { text: params.prompt, answer: params.answer, wrong: params.wrong, position: params.position },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined),
      },
    );
    const meta: DlaJobSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
