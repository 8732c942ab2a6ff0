import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readTensorTable, tensorTable } from '../../runtime/tensor-table';

describe('tensor tables', () => {
  it('round-trip a 3-D tensor through Arrow IPC', () => {
    const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 0.5 - 3);
    const t = tensorTable('blocks.0.attn.hook_pattern', [2, 3, 4], data);
    expect(t.numRows).toBe(6);
    const back = readTensorTable(tableFromIPC(tableToIPC(t)));
    expect(back.name).toBe('blocks.0.attn.hook_pattern');
    expect(back.shape).toEqual([2, 3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it('handles a single row and an empty tensor', () => {
    expect(
      Array.from(
        readTensorTable(tableFromIPC(tableToIPC(tensorTable('x', [5], new Float32Array([1, 2, 3, 4, 5])))))
          .data,
      ),
    ).toEqual([1, 2, 3, 4, 5]);
    expect(
      readTensorTable(tableFromIPC(tableToIPC(tensorTable('e', [0, 4], new Float32Array(0))))).shape,
    ).toEqual([0, 4]);
  });

  it('rejects mismatched data and non-tensor tables', () => {
    expect(() => tensorTable('bad', [2, 2], new Float32Array(3))).toThrow(
      /3 values do not fill shape \[2, 2\]/,
    );
    const t = tensorTable('ok', [1, 1], new Float32Array(1));
    const other = tableFromIPC(tableToIPC(t));
    other.schema.metadata.set('sparsebook.table', 'next-token');
    expect(() => readTensorTable(other)).toThrow(/not a tensor table/);
  });
});
