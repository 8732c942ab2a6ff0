import { describe, expect, it } from 'vitest';
import { History } from '../../../app/notebook/history';

/** A controllable clock. */
function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('History', () => {
  it('starts with nothing to undo or redo', () => {
    const h = History.start('a');
    expect(h.present).toBe('a');
    expect([h.canUndo, h.canRedo, h.undoLabel, h.redoLabel]).toEqual([false, false, undefined, undefined]);
    expect(h.undo()).toBe(h);
    expect(h.redo()).toBe(h);
  });

  it('undoes and redoes in order, with labels', () => {
    let h = History.start('a');
    h = h.push('b', { label: 'add cell' }).push('c', { label: 'delete cell' });
    expect(h.undoLabel).toBe('delete cell');
    h = h.undo();
    expect([h.present, h.undoLabel, h.redoLabel]).toEqual(['b', 'add cell', 'delete cell']);
    h = h.undo();
    expect([h.present, h.canUndo, h.redoLabel]).toEqual(['a', false, 'add cell']);
    h = h.redo().redo();
    expect([h.present, h.canRedo]).toEqual(['c', false]);
  });

  it('is immutable: operations return new histories and leave old ones intact', () => {
    const h0 = History.start({ n: 0 });
    const h1 = h0.push({ n: 1 }, { label: 'x' });
    const h2 = h1.undo();
    expect(h0.present).toEqual({ n: 0 });
    expect(h1.present).toEqual({ n: 1 });
    expect(h1.canRedo).toBe(false);
    expect(h2.present).toBe(h0.present);
  });

  it('clears redo on a new push', () => {
    const h = History.start('a').push('b', { label: 'x' }).undo().push('c', { label: 'y' });
    expect(h.canRedo).toBe(false);
    expect(h.undo().present).toBe('a');
  });

  it('ignores a push of the present value', () => {
    const h = History.start('a').push('b', { label: 'x' });
    expect(h.push(h.present, { label: 'y' })).toBe(h);
  });

  it('coalesces edits with the same key within the window into one step', () => {
    const c = clock();
    let h = History.start('', { now: c.now, coalesceMs: 1000 });
    for (const text of ['h', 'he', 'hel', 'hell', 'hello']) {
      h = h.push(text, { label: 'edit markdown', coalesceKey: 'c1:source' });
      c.advance(400); // the window slides: 2 s of typing in 400 ms steps is still one step
    }
    expect(h.undoDepth).toBe(1);
    expect(h.undoLabel).toBe('edit markdown');
    expect(h.undo().present).toBe('');
    expect(h.undo().redo().present).toBe('hello');
  });

  it('starts a new step after a pause, a different key, no key, an undo, or seal()', () => {
    const c = clock();
    const key = { label: 'type', coalesceKey: 'k' };
    const start = History.start('', { now: c.now, coalesceMs: 1000 }).push('a', key);

    c.advance(1001);
    expect(start.push('ab', key).undoDepth).toBe(2);
    c.advance(-1001);
    expect(start.push('ab', { label: 'type', coalesceKey: 'other' }).undoDepth).toBe(2);
    expect(start.push('ab', { label: 'type' }).undoDepth).toBe(2);
    expect(start.push('ab', { label: 'type' }).push('abc', { label: 'type' }).undoDepth).toBe(3);
    expect(start.seal().push('ab', key).undoDepth).toBe(2);
    const afterUndo = start.push('ab', { label: 'other' }).undo(); // present 'a', key 'k' but closed
    expect(afterUndo.push('ax', key).undoDepth).toBe(2);
  });

  it('keeps at most `limit` undo steps, dropping the oldest', () => {
    let h = History.start(0, { limit: 200 });
    for (let i = 1; i <= 250; i++) h = h.push(i, { label: `set ${i}` });
    expect(h.undoDepth).toBe(200);
    while (h.canUndo) h = h.undo();
    expect(h.present).toBe(50);
  });

  it('reset forgets all steps but keeps the options', () => {
    const c = clock();
    const h = History.start('a', { now: c.now, limit: 2 }).push('b', { label: 'x' }).reset('z');
    expect([h.present, h.canUndo, h.canRedo]).toEqual(['z', false, false]);
    const filled = h.push('1', { label: '' }).push('2', { label: '' }).push('3', { label: '' });
    expect(filled.undoDepth).toBe(2);
  });
});
