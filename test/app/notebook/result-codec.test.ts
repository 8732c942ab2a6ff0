import { describe, expect, it } from 'vitest';
import { decodeResult, encodeResult } from '../../../app/notebook/result-codec';

describe('cell result codec', () => {
  it('round-trips meta and several tables', () => {
    const r = {
      meta: { loss: 1.5, name: 'x', list: [1, 2] },
      tables: { a: Uint8Array.of(1, 2, 3), b: new Uint8Array(0), c: Uint8Array.of(9) },
    };
    expect(decodeResult(encodeResult(r))).toEqual(r);
  });
  it('refuses damaged bytes', () => {
    const bytes = encodeResult({ meta: null, tables: { a: Uint8Array.of(1, 2, 3) } });
    expect(() => decodeResult(bytes.subarray(0, bytes.length - 1))).toThrow(/table a past the end/);
    expect(() => decodeResult(Uint8Array.of(1))).toThrow(/too short/);
    expect(() => decodeResult(Uint8Array.of(200, 0, 0, 0, 1))).toThrow(/header past the end/);
  });
});
