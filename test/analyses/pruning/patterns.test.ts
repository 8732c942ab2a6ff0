/** Masks from scores: exact counts, deterministic ties, N:M groups, structured groups, pattern names. */
import { describe, expect, it } from 'vitest';
import {
  globalThreshold,
  groupScores,
  nmMask,
  parsePattern,
  structuredMask,
  unstructuredMask,
} from '../../../analyses/pruning/patterns';
import { magnitudeScores } from '../../../analyses/pruning/scores';
import { randomMatrix } from './helpers';

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);

describe('unstructuredMask', () => {
  const rows = 7;
  const cols = 13;
  const scores = magnitudeScores(randomMatrix(rows, cols, 5));

  it('prunes exactly round(s·count) over the layer', () => {
    for (const s of [0, 0.1, 0.25, 0.5, 0.77, 1]) {
      const mask = unstructuredMask(scores, rows, cols, s, 'layer');
      expect(rows * cols - sum(mask)).toBe(Math.round(s * rows * cols));
    }
  });

  it('prunes exactly round(s·cols) in every row when comparing per row', () => {
    for (const s of [0.3, 0.5, 0.9]) {
      const mask = unstructuredMask(scores, rows, cols, s, 'row');
      for (let r = 0; r < rows; r++) {
        expect(cols - sum(mask.subarray(r * cols, (r + 1) * cols))).toBe(Math.round(s * cols));
      }
    }
  });

  it('compares within rows for Wanda, across the layer for magnitude', () => {
    // Row 0 holds all the small scores: a layer-wise 50 % empties it, a per-row 50 % halves both rows.
    const s = [1, 2, 3, 4, 10, 20, 30, 40];
    expect(Array.from(unstructuredMask(s, 2, 4, 0.5, 'layer'))).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(unstructuredMask(s, 2, 4, 0.5, 'row'))).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
  });

  it('breaks ties by index', () => {
    expect(Array.from(unstructuredMask([1, 1, 1, 1], 1, 4, 0.5))).toEqual([0, 0, 1, 1]);
  });

  it('rejects bad sparsity and shapes', () => {
    expect(() => unstructuredMask([1, 2], 1, 2, 1.5)).toThrow(/sparsity/);
    expect(() => unstructuredMask([1, 2, 3], 1, 2, 0.5)).toThrow(/\[1, 2\]/);
  });
});

describe('globalThreshold', () => {
  it('prunes exactly round(s·total) across layers with one threshold', () => {
    const layers = [randomMatrix(4, 6, 1), randomMatrix(3, 5, 2), randomMatrix(2, 2, 3)].map(magnitudeScores);
    const { masks, threshold, pruned } = globalThreshold(layers, 0.6);
    const total = 24 + 15 + 4;
    expect(pruned).toBe(Math.round(0.6 * total));
    expect(total - sum(masks.map(sum))).toBe(pruned);
    masks.forEach((m, l) =>
      m.forEach((keep, i) =>
        expect(keep ? layers[l]![i]! >= threshold : layers[l]![i]! <= threshold).toBe(true),
      ),
    );
  });
});

describe('nmMask', () => {
  const rows = 5;
  const cols = 24;
  const scores = magnitudeScores(randomMatrix(rows, cols, 9));

  it.each([
    [2, 4],
    [4, 8],
    [1, 4],
    [3, 8],
    [1, 2],
  ])('keeps exactly %i of every %i, the largest ones', (n, m) => {
    const mask = nmMask(scores, rows, cols, n, m);
    for (let g = 0; g < rows * cols; g += m) {
      const group = mask.subarray(g, g + m);
      expect(sum(group)).toBe(n);
      const kept = Array.from(group).flatMap((k, i) => (k ? [scores[g + i]!] : []));
      const dropped = Array.from(group).flatMap((k, i) => (k ? [] : [scores[g + i]!]));
      if (dropped.length) expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...dropped));
    }
  });

  it('names the shape when cols is not a multiple of M', () => {
    expect(() => nmMask(new Float32Array(2 * 6), 2, 6, 2, 4)).toThrow(RangeError);
    expect(() => nmMask(new Float32Array(2 * 6), 2, 6, 2, 4)).toThrow(/\[2, 6\]/);
    expect(() => nmMask(new Float32Array(8), 1, 8, 5, 4)).toThrow(/5:4/);
  });
});

describe('structured masks', () => {
  it('drops whole input channels with the lowest summed score', () => {
    const s = [5, 1, 3, 0, 5, 1, 3, 9];
    expect(Array.from(groupScores(s, 2, 4, 'cols'))).toEqual([10, 2, 6, 9]);
    const { mask, groupKeep } = structuredMask(s, 2, 4, 0.5);
    expect(Array.from(groupKeep)).toEqual([1, 0, 0, 1]);
    expect(Array.from(mask)).toEqual([1, 0, 0, 1, 1, 0, 0, 1]);
  });

  it('drops heads as groups of headDim rows or columns', () => {
    const rows = 8;
    const cols = 12;
    const s = magnitudeScores(randomMatrix(rows, cols, 4));
    const headDim = 4;
    const byCols = structuredMask(s, rows, cols, 1 / 3, { axis: 'cols', groupSize: headDim });
    expect(sum(byCols.groupKeep)).toBe(2);
    const dropped = byCols.groupKeep.indexOf(0);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++)
        expect(byCols.mask[r * cols + c]).toBe(Math.floor(c / headDim) === dropped ? 0 : 1);
    const byRows = structuredMask(s, rows, cols, 0.5, { axis: 'rows', groupSize: headDim });
    expect(Array.from(byRows.groupKeep).sort()).toEqual([0, 1]);
    expect(sum(byRows.mask)).toBe((rows * cols) / 2);
    expect(() => structuredMask(s, rows, cols, 0.5, { axis: 'cols', groupSize: 5 })).toThrow(/groups of 5/);
  });
});

describe('parsePattern', () => {
  it('parses the four pattern kinds', () => {
    expect(parsePattern('unstructured')).toEqual({ kind: 'unstructured' });
    expect(parsePattern('2:4')).toEqual({ kind: 'nm', n: 2, m: 4 });
    expect(parsePattern('4:8')).toEqual({ kind: 'nm', n: 4, m: 8 });
    expect(parsePattern('channels')).toEqual({ kind: 'channels' });
    expect(parsePattern('heads')).toEqual({ kind: 'heads' });
  });

  it('rejects invalid patterns with clear errors', () => {
    expect(() => parsePattern('5:4')).toThrow(/N must not exceed M/);
    expect(() => parsePattern('0:4')).toThrow(/N must be at least 1/);
    expect(() => parsePattern('2:0')).toThrow(/M must be at least 1/);
    expect(() => parsePattern('2:4:8')).toThrow(/invalid pattern '2:4:8'/);
    expect(() => parsePattern('rows')).toThrow(/expected 'unstructured'/);
  });
});
