/**
 * Model view cell: for one document of a text, the per-token loss strip, the next-token
 * distribution after a chosen token, and the attention head grid of a chosen layer — one forward
 * pass in the worker (workers/inspect.ts).
 */
import { option, optionSchema } from '../../../analyses/options';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { documentAt, TEXT_INPUT } from '../text/text-kind';

export interface ModelViewMeta {
  document: number;
  layer: number;
  position: number;
  truncated: boolean;
  totalTokens: number;
  nLayers: number;
  nHeads: number;
}

/** Which document, layer and token to inspect (token −1: the last), and how many candidates. */
export const MODEL_VIEW_PARAMS = optionSchema({
  document: option.integer(0, { min: 0 }),
  layer: option.integer(0, { min: 0 }),
  token: option.integer(-1, { min: -1 }),
  topK: option.integer(10, { min: 1 }),
});

export const modelViewKind = defineCellKind({
  kind: 'model-view',
  title: 'Model view',
  description: 'Next-token distribution, per-token loss and the attention heads of a layer',
  params: MODEL_VIEW_PARAMS,
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ params, inputs, signal, services, progress }) {
    const model = inputs.model.meta;
    const { document, layer, token, topK } = params;
    const { text } = documentAt(inputs.text.params, document);
    progress(undefined, 'Running the model…');
    const r = await services.runtime.inspect(
      { text, layer, position: token, topK },
      { signal, model: model.key },
    );
    const meta: ModelViewMeta = {
      document,
      layer,
      position: r.summary.position,
      truncated: r.summary.truncated,
      totalTokens: r.summary.totalTokens,
      nLayers: model.shape.nLayers,
      nHeads: model.shape.nHeads,
    };
    return { meta, tables: r.tables };
  },
});
