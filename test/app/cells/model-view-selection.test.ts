/**
 * The model view's answer to the notebook's selection: the selected token's attention row (the keys
 * it attends to) and column (the later queries that attend to it) in every head, from the same
 * [H, T, T] pattern the heatmaps draw.
 */
import { Table, tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  decodeModelView,
  rowColumnMask,
  selectionAnswer,
} from '../../../app/cells/model-view/model-view-data';
import { tensorTable } from '../../../runtime/tensor-table';

/** Two heads over 4 tokens: head 0 attends to the previous token, head 1 to the first. */
function result() {
  const T = 4;
  const pattern = new Float32Array(2 * T * T);
  for (let q = 0; q < T; q++) {
    pattern[0 * T * T + q * T + Math.max(0, q - 1)] = 1;
    pattern[1 * T * T + q * T + 0] = 1;
  }
  const ipc = (t: Table) => tableToIPC(t, 'stream');
  return {
    meta: {},
    tables: {
      tokens: ipc(
        tableFromArrays({ position: Int32Array.from([0, 1, 2, 3]), token: ['<s>', 'a', 'b', 'c'] }),
      ),
      next: ipc(tableFromArrays({ rank: Int32Array.from([0]), token: ['x'] })),
      pattern: ipc(tensorTable('pattern', [2, T, T], pattern)),
    },
  };
}

describe('selectionAnswer', () => {
  it('gives each head the token’s row and column', () => {
    const d = decodeModelView(result(), 3);
    const [prev, first] = selectionAnswer(d, 1, 2);
    expect(prev!.row[0]).toEqual({ position: 0, weight: 1 }); // token 1 attends to token 0
    expect(prev!.column[0]).toEqual({ position: 2, weight: 1 }); // token 2 attends to token 1
    expect(first!.row[0]).toEqual({ position: 0, weight: 1 });
    expect(first!.column.every((c) => c.weight === 0)).toBe(true); // nobody attends to token 1
    expect(selectionAnswer(d, 0, 3)[1]!.column.map((c) => c.position)).toEqual([1, 2, 3]);
    expect(selectionAnswer(d, 4)).toEqual([]); // outside the document
  });
});

describe('rowColumnMask', () => {
  it('marks the token’s row and its column on and below the diagonal', () => {
    expect(Array.from(rowColumnMask(3, 1))).toEqual([0, 0, 0, 1, 1, 1, 0, 1, 0]);
    expect(Array.from(rowColumnMask(3, 0))).toEqual([1, 1, 1, 1, 0, 0, 1, 0, 0]);
    expect(Array.from(rowColumnMask(2, 5))).toEqual([0, 0, 0, 0]);
  });
});
