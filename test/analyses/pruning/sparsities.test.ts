/** Sparsity levels parsed once (analyses/pruning/sparsities.ts) and a pruned matrix as the view shows it. */
import { describe, expect, it } from 'vitest';
import { parseSparsities } from '../../../analyses/pruning/sparsities';
import { prunedMatrix } from '../../../analyses/pruning/matrix-view';

describe('parseSparsities', () => {
  it('reads numbers or a comma-separated string, keeps the order and drops repeats', () => {
    expect([...parseSparsities('0.5, 0.3, 0.5,')]).toEqual([0.5, 0.3]);
    expect([...parseSparsities([0, 0.7, 0.7])]).toEqual([0, 0.7]);
    expect([...parseSparsities('')]).toEqual([]);
  });

  it('refuses a level outside [0, 1) or not a number, naming it', () => {
    expect(() => parseSparsities([0.5, 1])).toThrow('sparsity 1 is not in [0, 1)');
    expect(() => parseSparsities('0.2, lots')).toThrow('sparsity lots is not in [0, 1)');
    expect(() => parseSparsities([-0.1])).toThrow(RangeError);
    expect(() => parseSparsities([NaN])).toThrow(/NaN/);
  });
});

describe('prunedMatrix', () => {
  it('masks the dense weights, keeps SparseGPT updates, and reads a dense matrix as all kept', () => {
    const dense = new Float32Array([1, -2, 3, -4]);
    const masked = prunedMatrix(dense, { mask: new Uint8Array([1, 0, 0, 1]), values: undefined });
    expect(Array.from(masked.values)).toEqual([1, 0, 0, -4]);
    expect(Array.from(masked.mask)).toEqual([1, 0, 0, 1]);
    expect(masked.nonzeros).toBe(2);
    const updated = prunedMatrix(dense, {
      mask: new Uint8Array([0, 1, 1, 0]),
      values: new Float32Array([0, -2.5, 3.5, 0]),
    });
    expect(Array.from(updated.values)).toEqual([0, -2.5, 3.5, 0]);
    expect(prunedMatrix(dense, undefined)).toMatchObject({ nonzeros: 4 });
    expect(Array.from(prunedMatrix(dense, undefined).values)).toEqual([1, -2, 3, -4]);
  });
});
