import { describe, expect, it } from 'vitest';
import type { NotebookDoc } from '../../../app/notebook/document';
import { EditError, removeCell, setSelection } from '../../../app/notebook/edit';
import { serializeNotebook, parseNotebookFile } from '../../../app/notebook/notebook-file';
import { NotebookError, validateNotebook } from '../../../app/notebook/schema';
import { selectionIn, sameToken, validateSelection } from '../../../app/notebook/selection';
import { decodeShareHash, encodeShareHash } from '../../../app/notebook/share-link';
import { buildProvenance } from '../../../app/report/provenance';
import { decodeReport, encodeReport } from '../../../app/report/report-data';
import { sampleNotebook } from './persistence-fixtures';

const selected = (): NotebookDoc =>
  setSelection(sampleNotebook(), { text: 't1', document: 1, position: 3, source: 'v1' });

function problem(value: unknown): string {
  try {
    validateNotebook(value, 'nb.json');
  } catch (e) {
    expect(e).toBeInstanceOf(NotebookError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('the notebook token selection', () => {
  it('is set, replaced and cleared by a pure edit, never mutating the document', () => {
    const doc = sampleNotebook();
    const a = setSelection(doc, { text: 't1', document: 0, position: 2 });
    expect(doc.selection).toBeUndefined();
    expect(a.selection).toEqual({ text: 't1', document: 0, position: 2 });
    expect(setSelection(a, { text: 't1', document: 0, position: 2 })).toBe(a); // the same token: no edit
    const b = setSelection(a, { text: 't1', document: 1, position: 0, source: 'v1' });
    expect(b.selection).toEqual({ text: 't1', document: 1, position: 0, source: 'v1' });
    const cleared = setSelection(b, undefined);
    expect('selection' in cleared).toBe(false);
    expect(() => setSelection(doc, { text: 'nope', document: 0, position: 0 })).toThrow(EditError);
  });

  it('goes with its text cell, and forgets only where it was picked when that cell goes', () => {
    expect(removeCell(selected(), 't1').selection).toBeUndefined();
    expect(removeCell(selected(), 'v1').selection).toEqual({ text: 't1', document: 1, position: 3 });
    expect(removeCell(selected(), 'intro').selection).toEqual(selected().selection);
  });

  it('is persisted in files, share links and reports', async () => {
    const doc = selected();
    expect(parseNotebookFile(serializeNotebook(doc), 'nb.json').selection).toEqual(doc.selection);
    expect(decodeShareHash(encodeShareHash(doc)).selection).toEqual(doc.selection);
    const provenance = await buildProvenance(doc, new Map(), { kind: 'cpu', description: 'CPU' }, 'app');
    const back = decodeReport(encodeReport({ doc, cells: new Map(), provenance }));
    expect(back.doc.selection).toEqual(doc.selection);
    // A document without one (every version-2 notebook saved before selections) still opens.
    expect(parseNotebookFile(serializeNotebook(sampleNotebook()), 'nb.json').selection).toBeUndefined();
  });

  it('refuses a malformed or dangling selection naming the problem', () => {
    const base = sampleNotebook();
    expect(problem({ ...base, selection: 7 })).toMatch(/"selection" that is not an object/);
    expect(problem({ ...base, selection: { text: 't1', document: -1, position: 0 } })).toMatch(
      /"document" is not an integer/,
    );
    expect(problem({ ...base, selection: { text: 't1', document: 0, position: 1.5 } })).toMatch(
      /"position" is not an integer/,
    );
    expect(problem({ ...base, selection: { text: 't1', document: 0, position: 0, x: 1 } })).toMatch(
      /unknown field "x"/,
    );
    expect(problem({ ...base, selection: { text: 'gone', document: 0, position: 0 } })).toMatch(
      /selection" in "gone", which is not a cell/,
    );
    expect(problem({ ...base, selection: { text: 't1', document: 0, position: 0, source: 'x y' } })).toMatch(
      /"source" is not a cell id/,
    );
  });

  it('answers a cell only about the text it reads', () => {
    const sel = selected().selection;
    expect(selectionIn(sel, 't1')).toEqual({ document: 1, position: 3 });
    expect(selectionIn(sel, 't2')).toBeUndefined();
    expect(selectionIn(undefined, 't1')).toBeUndefined();
    expect(sameToken(sel, { text: 't1', document: 1, position: 3 })).toBe(true);
    expect(sameToken(sel, { text: 't1', document: 1, position: 4 })).toBe(false);
    const fail = (p: string): never => {
      throw new Error(p);
    };
    expect(validateSelection({ text: 't1', document: 0, position: 9 }, fail)).toEqual({
      text: 't1',
      document: 0,
      position: 9,
    });
  });
});
