/**
 * Logit lens cell: one document's residual stream at every layer boundary read through the final
 * norm and unembedding (workers/interp-jobs.ts logitLensJob): a layers × positions grid of the next
 * token's rank / probability / top-1 agreement / KL, the KL-to-output curve, top tokens on hover,
 * and the selected token's trajectory. `metric` is a view param (recolouring never re-runs).
 */
import { LOGIT_LENS_OPTIONS } from '../../../analyses/interp/catalogue';
import type { LogitLensJobSummary } from '../../../workers/interp-jobs';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { documentsOf, TEXT_INPUT } from '../text/text-kind';

export interface LogitLensMeta extends LogitLensJobSummary {
  /** The document of the text that was read. */
  document: number;
}

export const logitLensKind = defineCellKind({
  kind: 'logit-lens',
  title: 'Logit lens',
  description: 'Where the prediction forms: every layer read through the unembedding, per position',
  params: LOGIT_LENS_OPTIONS,
  viewParams: ['metric'],
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ params, inputs, signal, services, progress }) {
    const docs = documentsOf(inputs.text.params);
    const { document, topK } = params;
    if (document >= docs.length)
      throw new RangeError(`document must be an integer in [0, ${docs.length - 1}], got ${document}`);
    progress(0, 'Reading every layer…');
    const r = await services.runtime.logitLens(
      { text: docs[document]!, topK },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined),
      },
    );
    const meta: LogitLensMeta = { ...r.summary, document };
    return { meta, tables: r.tables };
  },
});
