/**
 * The copy-paste code that puts one cell in another page: an iframe (live, from the notebook's
 * share link, or static, from a report), and the `<sparsebook-cell>` custom element over a report
 * (public/sparsebook-cell.js). Pure string building; every value is escaped for an attribute.
 */
import { embedHash } from './page-options';

export interface EmbedCodeInput {
  /** The page's URL (the app, or the report). */
  pageUrl: string;
  /** `live`: the workbench (embeds go through embed.html and the share hash); `report`: a report. */
  mode: 'live' | 'report';
  /** The notebook's share hash (`#nb=…`), for live embeds. */
  shareHash?: string;
  cellId: string;
  /** For the iframe's accessible title. */
  title: string;
  /** The report's file name, for the custom element when the page is the app. */
  reportFile: string;
}

/**
 * @example
 * embedCode({ pageUrl: 'https://x.org/sb/', mode: 'live', shareHash: '#nb=eJy', cellId: 'c1', title: 'Loss', reportFile: 'nb.report.html' });
 * // <iframe src="https://x.org/sb/embed.html#nb=eJy&cell=c1" …> … <sparsebook-cell src="nb.report.html" cell="c1">
 */
export function embedCode(input: EmbedCodeInput): string {
  const page = input.pageUrl.split('#')[0]!.split('?')[0]!;
  const folder = page.slice(0, page.lastIndexOf('/') + 1);
  const cell = embedHash({ cell: input.cellId, controls: true });
  const iframeSrc =
    input.mode === 'live' ? `${folder}embed.html${input.shareHash ?? '#'}&${cell}` : `${page}#${cell}`;
  const reportSrc = input.mode === 'live' ? input.reportFile : page.slice(page.lastIndexOf('/') + 1);
  const title = `Sparsebook: ${input.title}`;
  return [
    `<!-- ${input.mode === 'live' ? 'Live: runs the notebook in the reader’s browser' : 'Static: the results stored in the report'} -->`,
    `<iframe src="${attr(iframeSrc)}" title="${attr(title)}" style="width: 100%; height: 520px; border: 0" loading="lazy"></iframe>`,
    `<!-- From an exported report (add controls="off" to hide parameters, theme="dark" to force a theme) -->`,
    `<script type="module" src="${attr(folder)}sparsebook-cell.js"></script>`,
    `<sparsebook-cell src="${attr(reportSrc)}" cell="${attr(input.cellId)}"></sparsebook-cell>`,
  ].join('\n');
}

function attr(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
