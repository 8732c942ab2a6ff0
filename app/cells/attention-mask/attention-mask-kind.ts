/**
 * Attention mask cell: one mask family on one document's attention at a chosen layer — the head's
 * attention map with the mask overlaid (kept, dropped, and the mass dropped) and density / recall
 * per head (workers/attention-jobs.ts). Changing any param re-runs: one forward pass, cheap.
 *
 * The `channel` family needs held-out calibration text: the text's other documents (up to
 * CALIBRATION_DOCUMENTS of them); with a single document it calibrates on that document's first
 * half, which overlaps the scored window (the view says so).
 */
import { MASK_OPTIONS } from '../../../analyses/attention/catalogue';
import type { MaskJobSummary } from '../../../workers/runtime-types';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { documentAt, TEXT_INPUT } from '../text/text-kind';

/** Other documents used to calibrate the channel family. */
export const CALIBRATION_DOCUMENTS = 4;

export const attentionMaskKind = defineCellKind({
  kind: 'attention-mask',
  title: 'Attention mask',
  description: 'A sparse-attention mask on one document: what it keeps, drops, and the mass it loses',
  params: MASK_OPTIONS,
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ params, inputs, signal, services, progress }) {
    const { document, family, budget, layer, head } = params;
    const { docs, text } = documentAt(inputs.text.params, document);
    const others = docs.filter((_, i) => i !== document).slice(0, CALIBRATION_DOCUMENTS);
    progress(undefined, 'Running the model…');
    const r = await services.runtime.attentionMask(
      {
        text,
        calibrationText: family === 'channel' ? others.join('\n\n') : undefined,
        family,
        budget,
        layer,
        head,
      },
      { signal, model: inputs.model.meta.key },
    );
    const meta: MaskJobSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
