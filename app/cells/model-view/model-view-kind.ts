/**
 * Model view cell: for one document of a text, the per-token loss strip, the next-token
 * distribution after a chosen token, and the attention head grid of a chosen layer — one forward
 * pass in the worker (workers/inspect.ts).
 */
import type { ModelHandle } from '../../../workers/runtime-types';
import type { CellKind } from '../cell-kind';
import { documentsOf } from '../text/text-kind';

export interface ModelViewMeta {
  document: number;
  layer: number;
  position: number;
  truncated: boolean;
  totalTokens: number;
  nLayers: number;
  nHeads: number;
}

export const modelViewKind: CellKind = {
  kind: 'model-view',
  title: 'Model view',
  description: 'Next-token distribution, per-token loss and the attention heads of a layer',
  defaults: () => ({ document: 0, layer: 0, token: -1, topK: 10 }),
  inputs: [
    { role: 'model', label: 'Model', kinds: ['model'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
  async run({ cell, inputs, signal, services, progress }) {
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const docs = documentsOf(inputs.text!.cell.params);
    const document = Number(cell.params.document);
    if (!Number.isInteger(document) || document < 0 || document >= docs.length) {
      throw new RangeError(
        `document must be an integer in [0, ${docs.length - 1}], got ${cell.params.document}`,
      );
    }
    progress(undefined, 'Running the model…');
    const r = await services.runtime.inspect(
      {
        text: docs[document]!,
        layer: Number(cell.params.layer),
        position: Number(cell.params.token),
        topK: Number(cell.params.topK),
      },
      { signal, model: model.key },
    );
    const meta: ModelViewMeta = {
      document,
      layer: Number(cell.params.layer),
      position: r.summary.position,
      truncated: r.summary.truncated,
      totalTokens: r.summary.totalTokens,
      nLayers: model.shape.nLayers,
      nHeads: model.shape.nHeads,
    };
    return { meta: { ...meta }, tables: r.tables };
  },
};
