/** Bytes and FLOPs of a pruned layer. */
import { describe, expect, it } from 'vitest';
import { nmMask } from '../../../analyses/pruning/patterns';
import {
  countNonzeros,
  csrBytes,
  denseBytes,
  denseLinearFlops,
  linearFlops,
  nmCompressedBytes,
  storageReport,
} from '../../../analyses/pruning/storage';
import { randomMatrix } from './helpers';

describe('storage', () => {
  it('counts bytes for dense, CSR and 2:4', () => {
    expect(countNonzeros([1, 0, 1, 1])).toBe(3);
    expect(denseBytes(4, 8)).toBe(128);
    expect(csrBytes(16, 4)).toBe(4 * 16 + 4 * 16 + 4 * 5);
    // 16 kept values × 4 bytes + 16 × 2 bits of metadata.
    expect(nmCompressedBytes(4, 8)).toBe(64 + 4);
    expect(() => nmCompressedBytes(4, 6)).toThrow(/divisible by 4/);
  });

  it('counts FLOPs as 2·nnz per token', () => {
    expect(linearFlops(10)).toBe(20);
    expect(denseLinearFlops(3, 5)).toBe(30);
  });

  it('summarises a 2:4 mask', () => {
    const rows = 8;
    const cols = 16;
    const mask = nmMask(randomMatrix(rows, cols, 1), rows, cols, 2, 4);
    const r = storageReport(mask, rows, cols);
    expect(r.nnz).toBe(64);
    expect(r.density).toBe(0.5);
    expect(r.flops).toBe(r.denseFlops / 2);
    expect(r.nm24Bytes).toBe(4 * 64 + 16);
    expect(r.csrBytes).toBe(8 * 64 + 4 * 9);
    expect(r.denseBytes).toBe(512);
  });
});
