/**
 * `.sparsebook.json` files: writing a notebook as stable, readable JSON and opening one with a
 * message that points at the exact place a hand-edited file went wrong.
 */

import type { NotebookDoc } from './document';
import { orderedNotebook } from './canonical-json';
import { locateJsonError } from './json-syntax';
import { loadNotebookValue } from './migrate';
import { NotebookError } from './notebook-error';
import type { ValidateOptions } from './schema';

/** The suggested file extension (also what the Open dialog accepts, with plain `.json`). */
export const NOTEBOOK_FILE_EXTENSION = '.sparsebook.json';

/**
 * Largest file accepted, in UTF-16 units; generous over the 8 MB content limit to allow for
 * indentation, and checked before parsing so a huge file is not parsed just to be refused.
 */
export const MAX_NOTEBOOK_FILE_CHARS = 32 << 20;

/**
 * The notebook as a file: 2-space JSON, keys in a stable order, trailing newline.
 *
 * @example
 * const blob = new Blob([serializeNotebook(doc)], { type: 'application/json' });
 */
export function serializeNotebook(doc: NotebookDoc): string {
  return JSON.stringify(orderedNotebook(doc), null, 2) + '\n';
}

/**
 * Parse, migrate and validate a notebook file's text. Throws NotebookError naming `fileName`: for a
 * JSON syntax error with the line and column when the engine gives a position.
 *
 * @example
 * const doc = parseNotebookFile(await file.text(), file.name, { knownKinds });
 * // NotebookError: "notes.sparsebook.json: not valid JSON at line 4, column 3 (Expected ',' or '}' …)"
 */
export function parseNotebookFile(text: string, fileName: string, opts: ValidateOptions = {}): NotebookDoc {
  if (text.length > MAX_NOTEBOOK_FILE_CHARS) {
    throw new NotebookError(
      fileName,
      `is too large to be a notebook (${(text.length / (1 << 20)).toFixed(1)} MB)`,
    );
  }
  return loadNotebookValue(parseJson(text, fileName), fileName, opts);
}

/**
 * `JSON.parse` that throws NotebookError pointing at the first syntax error by line and column.
 * The location and wording come from locateJsonError rather than the engine's message, which
 * differs between browsers and may quote the file's text.
 *
 * @example
 * parseJson('{"a": }', 'x.json'); // throws 'x.json: not valid JSON at line 1, column 7 (unexpected "}")'
 */
export function parseJson(text: string, source: string): unknown {
  // A byte-order mark is legal in a file but not in JSON.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    if (body.trim() === '') throw new NotebookError(source, 'is empty', { cause: e });
    const at = locateJsonError(body);
    const problem = at
      ? `not valid JSON at line ${at.line}, column ${at.column} (${at.found})`
      : `not valid JSON (${e.message.slice(0, 120)})`;
    throw new NotebookError(source, problem, { cause: e });
  }
}

/**
 * A file name for a notebook title: lower-case ASCII words joined by `-`, accents stripped, at
 * most 64 characters, then the extension. An empty result becomes `notebook`.
 *
 * @example
 * notebookFileName('Attention in Café #2'); // 'attention-in-cafe-2.sparsebook.json'
 */
export function notebookFileName(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 64)
    .replace(/^-+|-+$/g, '');
  return (slug || 'notebook') + NOTEBOOK_FILE_EXTENSION;
}
