import { describe, expect, it } from 'vitest';
import type { CellDoc, NotebookDoc } from '../../../app/notebook/document';
import { cellKeys, downstreamOf, hashString, upstreamOf } from '../../../app/notebook/graph';

const c = (id: string, inputs: Record<string, string> = {}, params: CellDoc['params'] = {}): CellDoc => ({
  id,
  kind: 'k',
  params,
  inputs,
});
const doc = (...cells: CellDoc[]): NotebookDoc => ({
  format: 'sparsebook-notebook',
  version: 2,
  title: '',
  cells,
});
const d = doc(c('a'), c('b', { x: 'a' }), c('z'), c('c', { x: 'b', y: 'z' }), c('e', { x: 'a' }));

describe('notebook graph', () => {
  it('finds everything downstream and upstream, in document order', () => {
    expect(downstreamOf(d, 'a')).toEqual(['b', 'c', 'e']);
    expect(downstreamOf(d, 'z')).toEqual(['c']);
    expect(downstreamOf(d, 'c')).toEqual([]);
    expect(upstreamOf(d, 'c')).toEqual(['a', 'b', 'z']);
    expect(upstreamOf(d, 'a')).toEqual([]);
  });

  it('keys chain through inputs and ignore key order in params', () => {
    const k1 = cellKeys(d);
    const edited = doc(c('a', {}, { n: 1 }), ...d.cells.slice(1));
    const k2 = cellKeys(edited);
    for (const id of ['a', 'b', 'c', 'e']) expect(k2.get(id)).not.toBe(k1.get(id));
    expect(k2.get('z')).toBe(k1.get('z'));
    const p1 = cellKeys(doc(c('a', {}, { x: 1, y: 2 })));
    const p2 = cellKeys(doc(c('a', {}, { y: 2, x: 1 })));
    expect(p1.get('a')).toBe(p2.get('a'));
  });

  it('keys change with the env and the kind version', () => {
    const base = cellKeys(d).get('a');
    expect(cellKeys(d, { backend: 'cpu' }).get('a')).not.toBe(base);
    expect(cellKeys(d, {}, () => ({ version: 1 })).get('a')).not.toBe(base);
  });

  it('view-only params stay out of the key', () => {
    const withView = doc(c('a', {}, { n: 1, metric: 'entropy' }));
    const other = doc(c('a', {}, { n: 1, metric: 'sink_mass' }));
    const info = () => ({ viewParams: ['metric'] });
    expect(cellKeys(withView, {}, info).get('a')).toBe(cellKeys(other, {}, info).get('a'));
    expect(cellKeys(withView).get('a')).not.toBe(cellKeys(other).get('a'));
  });

  it('hashString is stable and spreads', () => {
    expect(hashString('abc')).toBe(hashString('abc'));
    expect(hashString('abc')).not.toBe(hashString('abd'));
    expect(hashString('')).toMatch(/^[0-9a-f]{14}$/);
  });
});
