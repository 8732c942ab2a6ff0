/**
 * What leaves the page: a report (the notebook and its current results as one HTML file), the
 * code that embeds one cell elsewhere, a share link and the `.sparsebook.json` file. Functions of
 * the document and results they are given; the page state only passes them in.
 */
import { kindOf } from '../cells/kinds';
import type { CellRuntime } from '../notebook/cell-runtime';
import type { NotebookDoc } from '../notebook/document';
import { notebookFileName, serializeNotebook } from '../notebook/notebook-file';
import { encodeShareHash } from '../notebook/share-link';
import { embedCode } from '../report/embed-code';
import { buildProvenance } from '../report/provenance';
import { collectReportCells, encodeReport } from '../report/report-data';
import { reportFileName, reportHtml } from '../report/report-html';
import type { KeptAnswers } from './kept-answers';
import { fetchText } from './opening';
import type { NotebookMode } from './param-lock';

export interface ReportFile {
  name: string;
  html: string;
  /** Cells without a current result (never run, stale, failed): in the report without one. */
  missing: string[];
}

/**
 * `doc` and every current result as one self-contained HTML file, in `shell` (the report page's
 * own, or fetched `report-shell.html`).
 */
export async function exportReport(
  doc: NotebookDoc,
  runtime: (id: string) => CellRuntime,
  /** What ran the results (the report's own when nothing has run here). */
  backend: { kind: string; description: string },
  shell: string | undefined,
  /** The cells' answers to the selection: those of the results in the report go in with them. */
  answers?: KeptAnswers,
): Promise<ReportFile> {
  const { cells, results, missing } = collectReportCells(doc, runtime, (kind) => !!kindOf(kind)?.run);
  const provenance = await buildProvenance(doc, results, backend, 'app');
  const text = shell ?? (await fetchText('report-shell.html'));
  const kept = answers?.forResults(cells);
  const html = reportHtml(
    text,
    encodeReport({ doc, cells, provenance, ...(kept?.size ? { answers: kept } : {}) }),
    doc.title,
  );
  return { name: reportFileName(doc.title), html, missing };
}

/** Code to embed cell `id` in another page (see app/report/embed-code.ts). */
export function embedCodeFor(doc: NotebookDoc, id: string, mode: NotebookMode): string {
  let shareHash: string | undefined;
  try {
    shareHash = mode === 'live' ? encodeShareHash(doc) : undefined;
  } catch {
    shareHash = undefined; // too large for a link: only the report form applies
  }
  const cell = doc.cells.find((c) => c.id === id);
  return embedCode({
    pageUrl: globalThis.location?.href ?? '',
    mode,
    ...(shareHash ? { shareHash } : {}),
    cellId: id,
    title: `${doc.title}, ${kindOf(cell?.kind ?? '')?.title ?? 'cell'}`,
    reportFile: reportFileName(doc.title),
  });
}

/** A URL under `base` that opens `doc` (compressed into the hash). */
export function shareLinkFor(doc: NotebookDoc, base: string): string {
  return base.split('#')[0] + encodeShareHash(doc);
}

/** `doc` as a `.sparsebook.json` download. */
export function notebookFile(doc: NotebookDoc): { name: string; text: string } {
  return { name: notebookFileName(doc.title), text: serializeNotebook(doc) };
}
