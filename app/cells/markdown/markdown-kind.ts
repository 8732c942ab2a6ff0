/** Markdown cell: prose between analyses. It has no run; its source renders (sanitized) as it is typed. */
import { option, optionSchema } from '../../../analyses/options';
import { defineCellKind } from '../cell-kind';

export const markdownKind = defineCellKind({
  kind: 'markdown',
  title: 'Markdown',
  description: 'Notes, headings, links and lists between analyses',
  params: optionSchema({ source: option.string('## Notes\n\nWrite *markdown* here.') }),
  inputs: [],
});
