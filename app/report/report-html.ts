/**
 * A report is the report shell (the whole app as one HTML file: scripts, styles and the runtime
 * worker inlined, built by scripts/report-shell.ts) with the packed report data placed in a
 * non-executing `<script type="application/octet-stream">` element. The data is base64url, whose
 * alphabet holds no `<`, `>`, `&` or quote, so nothing in a notebook (a title with `</script>` in it)
 * can close the element or inject markup.
 */
import { decodeBase64url, encodeBase64url } from '../notebook/base64url';
import { NotebookError } from '../notebook/notebook-error';

/** The element id that holds the data. */
export const REPORT_DATA_ID = 'sparsebook-report-data';
/** The placeholder in the shell that the data element replaces. */
export const REPORT_DATA_SLOT = '<!--sparsebook-report-data-->';
/** The placeholder in the shell's `<title>`. */
export const REPORT_TITLE_SLOT = 'Sparsebook report';

/**
 * The report file: `shell` with the data (and the notebook's title) filled in.
 *
 * @example
 * const html = reportHtml(await (await fetch('report-shell.html')).text(), encodeReport(data), doc.title);
 */
export function reportHtml(shell: string, packed: Uint8Array, title: string): string {
  const at = shell.indexOf(REPORT_DATA_SLOT);
  if (at < 0) throw new Error('report shell: no data slot (was it built by scripts/report-shell.ts?)');
  const element = `<script type="application/octet-stream" id="${REPORT_DATA_ID}">${encodeBase64url(packed)}</script>`;
  const withData = shell.slice(0, at) + element + shell.slice(at + REPORT_DATA_SLOT.length);
  // Function replacers: a title may hold `$&`, which a replacement string would expand.
  return withData.replace(
    `<title>${REPORT_TITLE_SLOT}</title>`,
    () => `<title>${escapeHtml(title)} · Sparsebook report</title>`,
  );
}

/** The packed data of the report this page is (undefined when the page is the app, not a report). */
export function embeddedReportBytes(doc: Document = document): Uint8Array | undefined {
  const el = doc.getElementById(REPORT_DATA_ID);
  if (!el) return undefined;
  return decodePayload(el.textContent ?? '');
}

/**
 * The packed data inside a report file's text (the custom element and `embed.html` fetch a report
 * and read it this way). Throws NotebookError (source `report`) when the text is not a report.
 */
export function reportBytesFromHtml(html: string): Uint8Array {
  const open = `id="${REPORT_DATA_ID}">`;
  const start = html.indexOf(open);
  const end = start < 0 ? -1 : html.indexOf('</script>', start);
  if (start < 0 || end < 0) throw new NotebookError('report', 'is not a Sparsebook report (no report data)');
  return decodePayload(html.slice(start + open.length, end));
}

function decodePayload(text: string): Uint8Array {
  const bytes = decodeBase64url(text.trim());
  if (!bytes) throw new NotebookError('report', 'report data is not valid base64url (damaged file?)');
  return bytes;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** `My notebook` → `my-notebook.report.html`. */
export function reportFileName(title: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return `${slug || 'notebook'}.report.html`;
}

/**
 * The shell of the report this page is, recovered from the live DOM before the app mounts (the
 * inline scripts' text is kept verbatim, so their CSP hashes still hold): lets a report that was
 * made live export a new report without fetching anything.
 */
export function captureShell(doc: Document = document): string | undefined {
  const data = doc.getElementById(REPORT_DATA_ID);
  if (!data) return undefined;
  const html = doc.documentElement.outerHTML;
  const element = data.outerHTML;
  const at = html.indexOf(element);
  if (at < 0) return undefined;
  const page = html.slice(0, at) + REPORT_DATA_SLOT + html.slice(at + element.length);
  return (
    '<!doctype html>\n' + page.replace(/<title>[^<]*<\/title>/, () => `<title>${REPORT_TITLE_SLOT}</title>`)
  );
}
