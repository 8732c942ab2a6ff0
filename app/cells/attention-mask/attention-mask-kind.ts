/**
 * Attention mask cell: one mask family on one document's attention at a chosen layer — the head's
 * attention map with the mask overlaid (kept, dropped, and the mass dropped) and density / recall
 * per head (workers/attention-jobs.ts). Changing any param re-runs: one forward pass, cheap.
 *
 * The `channel` family needs held-out calibration text: the text's other documents (up to
 * CALIBRATION_DOCUMENTS of them); with a single document it calibrates on that document's first
 * half, which overlaps the scored window (the view says so).
 */
import type { MaskFamilyId } from '../../../analyses/attention/masks/index';
import type { ModelHandle, MaskJobSummary } from '../../../workers/runtime-types';
import type { CellKind } from '../cell-kind';
import { documentsOf } from '../text/text-kind';

/** Other documents used to calibrate the channel family. */
export const CALIBRATION_DOCUMENTS = 4;

/**
 * The mask families for the picker, in the registry's order (a unit test checks this list against
 * MASK_FAMILIES, which the app does not import: the masks run in the worker). `keys`: a budget
 * above 1 means keys kept per query.
 */
export const FAMILY_CHOICES: readonly { id: MaskFamilyId; label: string; keys: boolean }[] = Object.freeze([
  { id: 'window-sink', label: 'Sliding window + sinks', keys: true },
  { id: 'topk', label: 'Exact top-k (oracle)', keys: true },
  { id: 'hip', label: 'Hierarchical top-k (HiP)', keys: false },
  { id: 'block', label: 'Block-sparse', keys: false },
  { id: 'block-permuted', label: 'Block-sparse, permuted (oracle)', keys: false },
  { id: 'chunk', label: 'Chunk similarity (DHSA)', keys: false },
  { id: 'channel', label: 'Channel-approximate (Double Sparsity)', keys: false },
  { id: 'moa', label: 'Per-head windows (MoA, oracle)', keys: false },
  { id: 'kv-norm-evict', label: 'Key-norm token eviction', keys: true },
  { id: 'mustafar', label: 'K/V element pruning (Mustafar)', keys: false },
]);

export const attentionMaskKind: CellKind = {
  kind: 'attention-mask',
  title: 'Attention mask',
  description: 'A sparse-attention mask on one document: what it keeps, drops, and the mass it loses',
  defaults: () => ({ family: 'topk', budget: 0.25, layer: 0, head: 0, document: 0 }),
  inputs: [
    { role: 'model', label: 'Model', kinds: ['model'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
  async run({ cell, inputs, signal, services, progress }) {
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const docs = documentsOf(inputs.text!.cell.params);
    const document = Number(cell.params.document);
    if (!Number.isInteger(document) || document < 0 || document >= docs.length)
      throw new RangeError(
        `document must be an integer in [0, ${docs.length - 1}], got ${cell.params.document}`,
      );
    const family = String(cell.params.family);
    const others = docs.filter((_, i) => i !== document).slice(0, CALIBRATION_DOCUMENTS);
    progress(undefined, 'Running the model…');
    const r = await services.runtime.attentionMask(
      {
        text: docs[document]!,
        calibrationText: family === 'channel' ? others.join('\n\n') : undefined,
        family,
        budget: Number(cell.params.budget),
        layer: Number(cell.params.layer),
        head: Number(cell.params.head),
      },
      { signal, model: model.key },
    );
    const meta: MaskJobSummary = r.summary;
    return {
      meta: { ...meta },
      tables: r.tables,
    };
  },
};
