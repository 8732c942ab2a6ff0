import { describe, expect, it } from 'vitest';
import { emptyNotebook } from '../../../app/notebook/document';
import { addCell, EditError, moveCell, removeCell, setInput, setParams } from '../../../app/notebook/edit';

const model = { kind: 'model', params: { source: 'bundled' }, inputs: [] };
const text = { kind: 'text', params: { text: 'hi' }, inputs: [] };
const view = {
  kind: 'model-view',
  params: { layer: 0 },
  inputs: [
    { role: 'model', label: 'Model', kinds: ['model'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
};

function notebook() {
  let d = emptyNotebook();
  d = addCell(d, model, undefined, 'm').doc;
  d = addCell(d, text, undefined, 't').doc;
  d = addCell(d, view, undefined, 'v').doc;
  return d;
}

describe('notebook edits', () => {
  it('addCell wires inputs to the nearest earlier cell of an accepted kind', () => {
    const d = notebook();
    expect(d.cells.map((c) => c.id)).toEqual(['m', 't', 'v']);
    expect(d.cells[2]!.inputs).toEqual({ model: 'm', text: 't' });
    const d2 = addCell(d, model, 'v', 'm2').doc;
    const d3 = addCell(d2, view, 'm2', 'v2').doc;
    expect(d3.cells.map((c) => c.id)).toEqual(['m', 't', 'v', 'm2', 'v2']);
    expect(d3.cells[4]!.inputs).toEqual({ model: 'm2', text: 't' });
  });

  it('edits never mutate the original document', () => {
    const d = notebook();
    const frozen = JSON.stringify(d);
    setParams(d, 'v', { layer: 3 });
    removeCell(d, 'm');
    moveCell(d, 't', -1);
    expect(JSON.stringify(d)).toBe(frozen);
  });

  it('removeCell clears inputs that pointed at the removed cell', () => {
    const d = removeCell(notebook(), 't');
    expect(d.cells.map((c) => c.id)).toEqual(['m', 'v']);
    expect(d.cells[1]!.inputs).toEqual({ model: 'm' });
  });

  it('moveCell swaps neighbours and refuses to move a reader above what it reads', () => {
    const d = moveCell(notebook(), 't', -1);
    expect(d.cells.map((c) => c.id)).toEqual(['t', 'm', 'v']);
    expect(() => moveCell(notebook(), 'v', -1)).toThrow(EditError);
    expect(() => moveCell(notebook(), 't', 1)).toThrow(/v reads t/);
    expect(moveCell(notebook(), 'm', -1)).toEqual(notebook());
  });

  it('setParams merges; setInput only accepts earlier cells', () => {
    const d = setParams(notebook(), 'v', { token: 4 });
    expect(d.cells[2]!.params).toEqual({ layer: 0, token: 4 });
    expect(() => setInput(notebook(), 'm', 'x', 'v')).toThrow(/only read cells above/);
    expect(setInput(notebook(), 'v', 'text', undefined).cells[2]!.inputs).toEqual({ model: 'm' });
  });
});
