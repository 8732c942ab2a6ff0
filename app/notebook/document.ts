/**
 * The persisted notebook: an ordered list of cells `{id, kind, params, inputs}`. Only this document
 * is saved, shared and undone; runtime state (status, elapsed time, progress, results) lives in
 * app/notebook/runtime-state and is never persisted.
 */

import type { TokenSelection } from './selection';

/** Identifies a Sparsebook notebook document (files, URL hashes, IndexedDB records). */
export const NOTEBOOK_FORMAT = 'sparsebook-notebook';

/** The schema version this build writes. Older versions are migrated on open (see schema.ts). */
export const NOTEBOOK_VERSION = 2;

/** Cell ids: short, URL- and file-safe. */
export const CELL_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A cell parameter value: plain JSON only, so documents round-trip through files and URLs. */
export type ParamValue = string | number | boolean | null | ParamValue[] | { [key: string]: ParamValue };

/** One cell as persisted. */
export interface CellDoc {
  /** Stable id, unique within the notebook (e.g. `c7k2m`); other cells refer to it in `inputs`. */
  id: string;
  /** Registered cell kind (`markdown`, `model`, `text`, `model-view`, …). */
  kind: string;
  /** Kind-specific parameters; defaults come from the cell kind registry. */
  params: Record<string, ParamValue>;
  /** Ids of the cells this cell reads, by role name (e.g. `{model: 'c1', text: 'c2'}`). */
  inputs: Record<string, string>;
}

/** A whole notebook as persisted. */
export interface NotebookDoc {
  format: typeof NOTEBOOK_FORMAT;
  version: typeof NOTEBOOK_VERSION;
  title: string;
  cells: CellDoc[];
  /** The token selected anywhere in the notebook, which every cell shows its view of (selection.ts). */
  selection?: TokenSelection;
}

/** A fresh random cell id (base-36, 8 characters). */
export function newCellId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return 'c' + n.toString(36).padStart(8, '0').slice(-8);
}

/** An empty notebook. */
export function emptyNotebook(title = 'Untitled notebook'): NotebookDoc {
  return { format: NOTEBOOK_FORMAT, version: NOTEBOOK_VERSION, title, cells: [] };
}
