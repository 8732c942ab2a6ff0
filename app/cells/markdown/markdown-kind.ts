/** Markdown cell: prose between analyses. It has no run; its source renders (sanitized) as it is typed. */
import type { CellKind } from '../cell-kind';

export const markdownKind: CellKind = {
  kind: 'markdown',
  title: 'Markdown',
  description: 'Notes, headings, links and lists between analyses',
  defaults: () => ({ source: '## Notes\n\nWrite *markdown* here.' }),
  inputs: [],
};
