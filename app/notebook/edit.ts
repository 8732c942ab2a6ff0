/**
 * Pure edits of a NotebookDoc: each returns a new document (never mutates), so undo/redo keeps
 * snapshots and Svelte sees a new value. Edits keep the invariant that inputs point at earlier
 * cells: moves that would break it are refused with a reason.
 */
import type { InputSpec } from '../cells/cell-kind';
import { newCellId, type CellDoc, type NotebookDoc, type ParamValue } from './document';
import { sameToken, type TokenSelection } from './selection';

/** A refused edit (the reason is shown to the user). */
export class EditError extends Error {
  override name = 'EditError';
}

/**
 * Insert a cell of `kind` after `afterId` (or at the end), wiring each input to the nearest earlier
 * cell of an accepted kind.
 */
export function addCell(
  doc: NotebookDoc,
  spec: { kind: string; params: Record<string, ParamValue>; inputs: readonly InputSpec[] },
  afterId?: string,
  id: string = newCellId(),
): { doc: NotebookDoc; id: string } {
  const at = afterId === undefined ? doc.cells.length : doc.cells.findIndex((c) => c.id === afterId) + 1;
  if (at === 0 && afterId !== undefined) throw new EditError(`no cell ${afterId}`);
  const before = doc.cells.slice(0, at);
  const inputs: Record<string, string> = {};
  for (const input of spec.inputs) {
    const source = [...before].reverse().find((c) => input.kinds.includes(c.kind));
    if (source) inputs[input.role] = source.id;
  }
  const cell: CellDoc = { id, kind: spec.kind, params: structuredClone(spec.params), inputs };
  return { doc: { ...doc, cells: [...before, cell, ...doc.cells.slice(at)] }, id };
}

/** Remove a cell; cells that read it lose that input (they show "choose a … cell"). */
export function removeCell(doc: NotebookDoc, id: string): NotebookDoc {
  // A selection in the removed text would dangle: it goes too. Picked in the removed cell, it stays
  // (the token is still in its text) without naming where it was picked.
  const sel = doc.selection;
  let base = doc;
  if (sel?.text === id) base = setSelection(doc, undefined);
  else if (sel?.source === id) {
    const { source: _picked, ...kept } = sel;
    base = { ...doc, selection: kept };
  }
  return {
    ...base,
    cells: base.cells
      .filter((c) => c.id !== id)
      .map((c) =>
        Object.values(c.inputs).includes(id)
          ? { ...c, inputs: Object.fromEntries(Object.entries(c.inputs).filter(([, v]) => v !== id)) }
          : c,
      ),
  };
}

/** Move a cell one place up (−1) or down (+1). */
export function moveCell(doc: NotebookDoc, id: string, delta: -1 | 1): NotebookDoc {
  const i = doc.cells.findIndex((c) => c.id === id);
  const j = i + delta;
  if (i < 0 || j < 0 || j >= doc.cells.length) return doc;
  const [first, second] = delta < 0 ? [doc.cells[j]!, doc.cells[i]!] : [doc.cells[i]!, doc.cells[j]!];
  // After the swap `second` comes before `first`: refused when `second` reads `first`.
  if (Object.values(second.inputs).includes(first.id)) {
    throw new EditError(`cannot move: ${second.id} reads ${first.id}, so it must stay below it`);
  }
  const cells = doc.cells.slice();
  cells[i] = doc.cells[j]!;
  cells[j] = doc.cells[i]!;
  return { ...doc, cells };
}

/** Merge `patch` into a cell's params. */
export function setParams(doc: NotebookDoc, id: string, patch: Record<string, ParamValue>): NotebookDoc {
  return mapCell(doc, id, (c) => ({ ...c, params: { ...c.params, ...patch } }));
}

/** Point a cell's input `role` at `sourceId` (an earlier cell), or clear it with undefined. */
export function setInput(
  doc: NotebookDoc,
  id: string,
  role: string,
  sourceId: string | undefined,
): NotebookDoc {
  if (sourceId !== undefined) {
    const from = doc.cells.findIndex((c) => c.id === sourceId);
    const to = doc.cells.findIndex((c) => c.id === id);
    if (from < 0 || from >= to) throw new EditError(`${id} can only read cells above it`);
  }
  return mapCell(doc, id, (c) => {
    const inputs = { ...c.inputs };
    if (sourceId === undefined) delete inputs[role];
    else inputs[role] = sourceId;
    return { ...c, inputs };
  });
}

/**
 * Select a token (or clear the selection with undefined). A selection must name a text cell of the
 * notebook; removing that cell clears it (see removeCell).
 */
export function setSelection(doc: NotebookDoc, selection: TokenSelection | undefined): NotebookDoc {
  if (sameToken(selection, doc.selection) && selection?.source === doc.selection?.source) return doc;
  if (!selection) {
    const { selection: _dropped, ...rest } = doc;
    return rest;
  }
  if (!doc.cells.some((c) => c.id === selection.text)) throw new EditError(`no cell ${selection.text}`);
  return { ...doc, selection: { ...selection } };
}

export function setTitle(doc: NotebookDoc, title: string): NotebookDoc {
  return { ...doc, title };
}

function mapCell(doc: NotebookDoc, id: string, f: (c: CellDoc) => CellDoc): NotebookDoc {
  if (!doc.cells.some((c) => c.id === id)) throw new EditError(`no cell ${id}`);
  return { ...doc, cells: doc.cells.map((c) => (c.id === id ? f(c) : c)) };
}
