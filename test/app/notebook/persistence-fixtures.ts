import type { NotebookDoc } from '../../../app/notebook/document';

/** A small, valid current-version notebook used across the notebook tests. */
export function sampleNotebook(): NotebookDoc {
  return {
    format: 'sparsebook-notebook',
    version: 2,
    title: 'Attention in stories260K',
    cells: [
      { id: 'intro', kind: 'markdown', params: { source: '# Notes\nCafé ✓ 🚀' }, inputs: {} },
      { id: 'm1', kind: 'model', params: { source: 'bundled', name: 'stories260K' }, inputs: {} },
      { id: 't1', kind: 'text', params: { text: 'Once upon a time<|endoftext|>The end.' }, inputs: {} },
      {
        id: 'v1',
        kind: 'model-view',
        params: {
          layer: 2,
          token: -1,
          heads: [0, 1, 2],
          view: { scale: 'log', zoom: 1.5 },
          show: true,
          note: null,
        },
        inputs: { model: 'm1', text: 't1' },
      },
    ],
  };
}
