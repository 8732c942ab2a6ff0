/**
 * Loss cell: mean cross-entropy and perplexity of a model over a whole text (ARCHITECTURE.md "Loss
 * over a text"), window by window in the worker with progress.
 */
import type { ModelHandle, LossSummary } from '../../../workers/runtime-types';
import type { CellKind } from '../cell-kind';

export const lossKind: CellKind = {
  kind: 'loss',
  title: 'Loss',
  description: 'Loss and perplexity of a model over a whole text',
  defaults: () => ({}),
  inputs: [
    { role: 'model', label: 'Model', kinds: ['model'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
  async run({ inputs, signal, services, progress }) {
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const { text, name } = inputs.text!.cell.params;
    const request = { text: String(text ?? ''), fileName: String(name || 'text') };
    const { summary }: { summary: LossSummary } = await services.runtime.loss(request, {
      signal,
      model: model.key,
      onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Window ${p.done} of ${p.total}`),
    });
    return { meta: { ...summary }, tables: {} };
  },
};
