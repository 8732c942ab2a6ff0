/**
 * The notebook's one token selection: a token of a text — which text cell, which of its documents
 * (split on `<|endoftext|>`), which token position — picked in any cell (a loss strip, an attention
 * map, a logit lens, a feature context, a token→expert map, a pruning point view). Every other cell
 * shows its own view of that token. It is part of the document (persisted, undoable, in share links,
 * reports and embeds) but never re-runs a cell: views read it, runs do not.
 */
import { CELL_ID_PATTERN } from './document';
import { isPlainObject } from './json-copy';

/** A selected token. Positions count tokens of the document as the model sees them (BOS is 0 when present). */
export interface TokenSelection {
  /** Id of the text cell whose tokens these are. */
  text: string;
  /** Document index within that text (0-based). */
  document: number;
  /** Token position within the document (0-based). */
  position: number;
  /** Id of the cell where it was picked (that cell need not highlight it as "answered"). */
  source?: string;
}

/** Largest document index or position a selection may name (far beyond any context window). */
export const MAX_SELECTION_INDEX = 1 << 24;

const KEYS = new Set(['text', 'document', 'position', 'source']);

/**
 * Check an untrusted `selection` value (from a file, link, autosave or report) and return a fresh
 * copy; `fail` throws with the problem in the reader's terms.
 *
 * @example
 * validateSelection({ text: 'c1', document: 0, position: 7 }, fail); // { text: 'c1', document: 0, position: 7 }
 * validateSelection({ text: 'c1', document: -1, position: 7 }, fail); // fail('selection "document" …')
 */
export function validateSelection(value: unknown, fail: (problem: string) => never): TokenSelection {
  if (!isPlainObject(value)) fail('has a "selection" that is not an object');
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) fail(`has a "selection" with an unknown field ${JSON.stringify(key).slice(0, 40)}`);
  }
  const id = (name: 'text' | 'source'): string => {
    const v = raw[name];
    if (typeof v !== 'string' || !CELL_ID_PATTERN.test(v)) {
      fail(`has a "selection" whose "${name}" is not a cell id`);
    }
    return v as string;
  };
  const index = (name: 'document' | 'position'): number => {
    const v = raw[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_SELECTION_INDEX) {
      fail(`has a "selection" whose "${name}" is not an integer in [0, ${MAX_SELECTION_INDEX}]`);
    }
    return v as number;
  };
  const out: TokenSelection = { text: id('text'), document: index('document'), position: index('position') };
  if (raw.source !== undefined) out.source = id('source');
  return out;
}

/**
 * The selection as a cell reading text cell `textId` sees it: its document and position when the
 * selection is in that text, otherwise undefined (a token of another text means nothing here).
 *
 * @example
 * selectionIn({ text: 'c1', document: 2, position: 5 }, 'c1'); // { document: 2, position: 5 }
 * selectionIn({ text: 'c1', document: 2, position: 5 }, 'c9'); // undefined
 */
export function selectionIn(
  selection: TokenSelection | undefined,
  textId: string | undefined,
): { document: number; position: number } | undefined {
  if (!selection || textId === undefined || selection.text !== textId) return undefined;
  return { document: selection.document, position: selection.position };
}

/** True when two selections name the same token (the source cell aside). */
export function sameToken(a: TokenSelection | undefined, b: TokenSelection | undefined): boolean {
  if (!a || !b) return a === b;
  return a.text === b.text && a.document === b.document && a.position === b.position;
}
