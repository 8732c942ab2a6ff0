/**
 * Activations explorer cell: any [tokens, channels] hook over one document (workers/interp-jobs.ts
 * activationsJob) as a zoomable heatmap, per-channel statistics, massive activations and outlier
 * channels flagged, activation sparsity per token and FFN neuron sparsity per chunk of tokens.
 * `statistic` is a view param.
 */
import { ACTIVATIONS_OPTIONS } from '../../../analyses/interp/catalogue';
import type { ActivationsJobSummary } from '../../../workers/interp-jobs';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { documentsOf, TEXT_INPUT } from '../text/text-kind';

export interface ActivationsMeta extends ActivationsJobSummary {
  document: number;
}

export const activationsKind = defineCellKind({
  kind: 'activations',
  title: 'Activations explorer',
  description: 'Any hook as tokens × channels: statistics, massive activations, outlier channels, sparsity',
  params: ACTIVATIONS_OPTIONS,
  viewParams: ['statistic'],
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ params, inputs, signal, services, progress }) {
    const docs = documentsOf(inputs.text.params);
    const { document, hook, nearZero, neuronThreshold } = params;
    if (document >= docs.length)
      throw new RangeError(`document must be an integer in [0, ${docs.length - 1}], got ${document}`);
    progress(0, `Reading ${hook}…`);
    const r = await services.runtime.activations(
      { text: docs[document]!, hook, nearZero, neuronThreshold },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined),
      },
    );
    const meta: ActivationsMeta = { ...r.summary, document };
    return { meta, tables: r.tables };
  },
});
