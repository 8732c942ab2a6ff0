/**
 * Loss cell: mean cross-entropy and perplexity of a model over a whole text (ARCHITECTURE.md "Loss
 * over a text"), window by window in the worker with progress.
 */
import { optionSchema } from '../../../analyses/options';
import type { LossSummary } from '../../../workers/runtime-types';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { TEXT_INPUT } from '../text/text-kind';

export const lossKind = defineCellKind({
  kind: 'loss',
  title: 'Loss',
  description: 'Loss and perplexity of a model over a whole text',
  params: optionSchema({}),
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ inputs, signal, services, progress }) {
    const { text, name } = inputs.text.params;
    const request = { text, fileName: name || 'text' };
    const { summary }: { summary: LossSummary } = await services.runtime.loss(request, {
      signal,
      model: inputs.model.meta.key,
      onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Window ${p.done} of ${p.total}`),
    });
    return { meta: summary, tables: {} };
  },
});
