/**
 * Validation of a current-version notebook document (NotebookDoc, version 2). Everything that opens a
 * notebook (file, share link, autosave) funnels through here after migration (migrate.ts), so a
 * malformed or hostile document is refused with one clear message before any of it reaches the UI.
 */

import {
  CELL_ID_PATTERN,
  NOTEBOOK_FORMAT,
  NOTEBOOK_VERSION,
  type CellDoc,
  type NotebookDoc,
  type ParamValue,
} from './document';
import { NotebookError } from './notebook-error';
import { isPlainObject, jsonCopier, type JsonBudget } from './json-copy';
import { validateSelection } from './selection';

export { NotebookError } from './notebook-error';

/** Size limits a notebook must respect (a notebook is parameters and prose; data lives in results). */
export const NOTEBOOK_LIMITS = Object.freeze({
  maxCells: 500,
  /** Longest single string (title, markdown source, any param), in UTF-8 bytes. */
  maxStringBytes: 1 << 20,
  /** Approximate content size of the whole document (strings, keys, scalars), in bytes. */
  maxTotalBytes: 8 << 20,
  /** Deepest nesting of a param value; guards the recursive walk against stack overflow. */
  maxDepth: 32,
});

export { CELL_ID_PATTERN } from './document';
/** Input role names (`model`, `text`, `in0`, …). */
export const ROLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** Options for {@link validateNotebook}. */
export interface ValidateOptions {
  /** When given, a cell whose kind is not in the set is refused (the registry's kinds). */
  knownKinds?: ReadonlySet<string>;
}

const DOC_KEYS = new Set(['format', 'version', 'title', 'cells', 'selection']);
const CELL_KEYS = new Set(['id', 'kind', 'params', 'inputs']);

/**
 * Check that `value` is a well-formed current-version notebook and return a fresh, deep copy of it
 * (the input is never mutated, and the result shares nothing with it). Throws {@link NotebookError}
 * naming `source` and the first problem found. Older versions must go through `migrateNotebook`
 * first; `loadNotebookValue` in migrate.ts does both.
 *
 * @example
 * const doc = validateNotebook(JSON.parse(text), 'notes.sparsebook.json', { knownKinds: new Set(['markdown', 'text']) });
 * // throws NotebookError: `notes.sparsebook.json: cell 3 ("c1a2b3c4") has no "kind"`
 */
export function validateNotebook(value: unknown, source: string, opts: ValidateOptions = {}): NotebookDoc {
  const fail = (problem: string): never => {
    throw new NotebookError(source, problem);
  };
  if (!isPlainObject(value)) fail(`is not a notebook (expected a JSON object, got ${describeType(value)})`);
  const raw = value as Record<string, unknown>;

  if (!('format' in raw)) fail('is not a Sparsebook notebook (no "format" field)');
  if (raw.format !== NOTEBOOK_FORMAT) {
    fail(`is not a Sparsebook notebook (format is ${short(raw.format)}, expected "${NOTEBOOK_FORMAT}")`);
  }
  checkVersion(raw.version, fail);
  if (raw.version !== NOTEBOOK_VERSION) {
    fail(`is version ${String(raw.version)} and must be migrated before validation (see migrateNotebook)`);
  }
  for (const key of Object.keys(raw)) if (!DOC_KEYS.has(key)) fail(`has an unknown field ${short(key)}`);

  const budget: JsonBudget = { bytes: 0 };
  const copy = jsonCopier(NOTEBOOK_LIMITS, budget);
  if (typeof raw.title !== 'string') fail(`has no "title" string`);
  const title = copy(raw.title, (p) => fail(`title ${p}`)) as string;

  if (!Array.isArray(raw.cells)) fail(`has no "cells" list`);
  const rawCells = raw.cells as unknown[];
  if (rawCells.length > NOTEBOOK_LIMITS.maxCells) {
    fail(`has ${rawCells.length} cells; the limit is ${NOTEBOOK_LIMITS.maxCells}`);
  }

  const seen = new Set<string>();
  const cells: CellDoc[] = [];
  for (let i = 0; i < rawCells.length; i++) {
    const cell = validateCell(rawCells[i], i, seen, opts, copy, fail);
    seen.add(cell.id);
    cells.push(cell);
  }
  if (budget.bytes > NOTEBOOK_LIMITS.maxTotalBytes) {
    fail(`is too large (${mb(budget.bytes)} of content; the limit is ${mb(NOTEBOOK_LIMITS.maxTotalBytes)})`);
  }
  const doc: NotebookDoc = { format: NOTEBOOK_FORMAT, version: NOTEBOOK_VERSION, title, cells };
  // The selection is optional (older version-2 documents have none). A selection naming a text cell
  // that is not in the notebook is refused like a dangling input.
  if (raw.selection !== undefined) {
    const selection = validateSelection(raw.selection, fail);
    if (!seen.has(selection.text)) fail(`has a "selection" in ${short(selection.text)}, which is not a cell`);
    if (selection.source !== undefined && !seen.has(selection.source)) {
      fail(`has a "selection" picked in ${short(selection.source)}, which is not a cell`);
    }
    doc.selection = selection;
  }
  return doc;
}

/**
 * Check a `version` field: a positive integer not newer than this build. Shared with migration so
 * both refuse a future version with the same words.
 *
 * @example
 * checkVersion(raw.version, (problem) => { throw new NotebookError('x.json', problem); });
 */
export function checkVersion(version: unknown, fail: (problem: string) => never): asserts version is number {
  if (version === undefined) {
    fail(`has no "version"; this build reads versions 1 to ${NOTEBOOK_VERSION}`);
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    fail(`has an invalid version ${short(version)} (expected a whole number from 1 to ${NOTEBOOK_VERSION})`);
  }
  if ((version as number) > NOTEBOOK_VERSION) {
    fail(
      `was written by a newer Sparsebook (version ${version}); this build reads up to ${NOTEBOOK_VERSION}`,
    );
  }
}

function validateCell(
  value: unknown,
  index: number,
  earlier: ReadonlySet<string>,
  opts: ValidateOptions,
  copy: ReturnType<typeof jsonCopier>,
  failDoc: (problem: string) => never,
): CellDoc {
  // Cells are numbered from 1 in messages, as a reader counts them.
  let where = `cell ${index + 1}`;
  const fail = (problem: string): never => failDoc(`${where} ${problem}`);
  if (!isPlainObject(value)) fail(`is not an object (got ${describeType(value)})`);
  const raw = value as Record<string, unknown>;

  if (typeof raw.id !== 'string')
    fail(raw.id === undefined ? 'has no "id"' : 'has an "id" that is not a string');
  const id = raw.id as string;
  if (!CELL_ID_PATTERN.test(id)) fail(`has an invalid id ${short(id)} (1–64 letters, digits, "_" or "-")`);
  where = `cell ${index + 1} (${JSON.stringify(id)})`;
  if (earlier.has(id)) fail('repeats an id used by an earlier cell');
  for (const key of Object.keys(raw)) if (!CELL_KEYS.has(key)) fail(`has an unknown field ${short(key)}`);

  if (raw.kind === undefined) fail('has no "kind"');
  if (typeof raw.kind !== 'string' || raw.kind === '') fail(`has an invalid kind ${short(raw.kind)}`);
  const kind = raw.kind as string;
  if (opts.knownKinds && !opts.knownKinds.has(kind)) fail(`has unknown kind ${short(kind)}`);

  if (raw.params === undefined) fail('has no "params"');
  if (!isPlainObject(raw.params))
    fail(`has "params" that is not an object (got ${describeType(raw.params)})`);
  const params = copy(raw.params, (problem, path) =>
    fail(path ? `param ${JSON.stringify(path)} ${problem}` : `params ${problem}`),
  ) as Record<string, ParamValue>;

  if (raw.inputs === undefined) fail('has no "inputs"');
  if (!isPlainObject(raw.inputs))
    fail(`has "inputs" that is not an object (got ${describeType(raw.inputs)})`);
  const inputs: Record<string, string> = {};
  for (const [role, ref] of Object.entries(raw.inputs as Record<string, unknown>)) {
    if (!ROLE_PATTERN.test(role)) fail(`has an invalid input role ${short(role)}`);
    // JSON.parse makes "__proto__" an own key; assigning it below would set the prototype instead
    // and the input would silently vanish.
    if (role === '__proto__') fail('uses the reserved input role "__proto__"');
    if (typeof ref !== 'string') fail(`input "${role}" is not a cell id (got ${describeType(ref)})`);
    const target = ref as string;
    // Inputs may only point upwards: this makes the notebook a DAG in reading order, so no cycle
    // can ever be saved and the run order is simply the list order.
    if (target === id) fail(`input "${role}" refers to the cell itself`);
    if (!earlier.has(target))
      fail(`input "${role}" refers to ${short(target)}, which is not an earlier cell`);
    inputs[role] = target;
  }
  return { id, kind, params, inputs };
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** A value quoted for a message, cut short so a hostile 1 MB string cannot flood the UI. */
function short(v: unknown): string {
  let s: string;
  try {
    s =
      typeof v === 'string'
        ? JSON.stringify(v)
        : v === undefined
          ? 'undefined'
          : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 57) + '…' : s;
}

function mb(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}
