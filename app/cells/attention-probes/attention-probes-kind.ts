/**
 * Attention probes cell: per layer and head, entropy, sink mass, distance, top-k coverage,
 * locality and vertical / slash scores over the first windows of a text (workers/attention-jobs.ts).
 *
 * `maxWindows` decides what is computed; `metric`, `layer` and `head` are view-only params: saved,
 * shared and undoable, but out of the cell's key, so recolouring the grid or picking a head never
 * re-runs the model.
 */
import { PROBE_OPTIONS } from '../../../analyses/attention/catalogue';
import type { ProbeJobSummary } from '../../../workers/runtime-types';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { TEXT_INPUT } from '../text/text-kind';

export const attentionProbesKind = defineCellKind({
  kind: 'attention-probes',
  title: 'Attention probes',
  description: 'Which heads are sparse: entropy, sink mass, locality, vertical/slash per head',
  params: PROBE_OPTIONS,
  viewParams: ['metric', 'layer', 'head'],
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ params, inputs, signal, services, progress }) {
    const { text, name } = inputs.text.params;
    progress(0, 'Probing…');
    const r = await services.runtime.attentionProbes(
      { text, maxWindows: params.maxWindows, fileName: name || 'text' },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Window ${p.done} of ${p.total}`),
      },
    );
    const meta: ProbeJobSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
