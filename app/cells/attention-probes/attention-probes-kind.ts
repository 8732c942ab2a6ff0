/**
 * Attention probes cell: per layer and head, entropy, sink mass, distance, top-k coverage,
 * locality and vertical / slash scores over the first windows of a text (workers/attention-jobs.ts).
 *
 * `maxWindows` decides what is computed; `metric`, `layer` and `head` are view-only params: saved,
 * shared and undoable, but out of the cell's key, so recolouring the grid or picking a head never
 * re-runs the model.
 */
import type { ModelHandle, ProbeJobSummary } from '../../../workers/runtime-types';
import type { CellKind } from '../cell-kind';

/** Most windows a cell may ask for (each is one forward pass with every pattern read back). */
export const MAX_PROBE_WINDOWS = 256;

export const attentionProbesKind: CellKind = {
  kind: 'attention-probes',
  title: 'Attention probes',
  description: 'Which heads are sparse: entropy, sink mass, locality, vertical/slash per head',
  defaults: () => ({ maxWindows: 8, metric: 'entropy', layer: 0, head: 0 }),
  viewParams: ['metric', 'layer', 'head'],
  inputs: [
    { role: 'model', label: 'Model', kinds: ['model'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
  async run({ cell, inputs, signal, services, progress }) {
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const { text, name } = inputs.text!.cell.params;
    const maxWindows = Number(cell.params.maxWindows);
    if (!Number.isInteger(maxWindows) || maxWindows < 1 || maxWindows > MAX_PROBE_WINDOWS)
      throw new RangeError(
        `windows must be an integer in [1, ${MAX_PROBE_WINDOWS}], got ${cell.params.maxWindows}`,
      );
    progress(0, 'Probing…');
    const r = await services.runtime.attentionProbes(
      { text: String(text ?? ''), maxWindows, fileName: String(name || 'text') },
      {
        signal,
        model: model.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Window ${p.done} of ${p.total}`),
      },
    );
    const s: ProbeJobSummary = r.summary;
    const meta = {
      ...s,
      sinkHeads: s.sinkHeads.map((h) => ({ ...h })),
      localHeads: s.localHeads.map((h) => ({ ...h })),
    };
    return { meta, tables: r.tables };
  },
};
