/** Magnitude and Wanda scores, and the streamed calibration statistics behind them. */
import { describe, expect, it } from 'vitest';
import {
  columnNormsSquared,
  InputStats,
  magnitudeScores,
  wandaScores,
} from '../../../analyses/pruning/scores';
import { randomMatrix } from './helpers';

describe('scores', () => {
  it('magnitude is |W|', () => {
    expect(Array.from(magnitudeScores([-2, 0, 1.5]))).toEqual([2, 0, 1.5]);
  });

  it('wanda scales each column by its input norm', () => {
    const s = wandaScores([1, -2, 3, -4], 2, 2, [10, 0.5]);
    expect(Array.from(s)).toEqual([10, 1, 30, 2]);
    expect(() => wandaScores([1, 2], 1, 2, [1])).toThrow(/cols = 2/);
  });

  it('column sums of squares accumulate across batches', () => {
    const acc = columnNormsSquared([1, 2, 3, 4], 2, 2);
    expect(Array.from(acc)).toEqual([10, 20]);
    columnNormsSquared([1, 1], 1, 2, acc);
    expect(Array.from(acc)).toEqual([11, 21]);
  });

  it('InputStats streamed in batches equals (2/n)·XᵀX and ‖X_j‖ of the whole set', () => {
    const n = 30;
    const cols = 5;
    const x = randomMatrix(n, cols, 3);
    const stats = new InputStats(cols);
    stats.add(x.subarray(0, 7 * cols), 7);
    stats.add(x.subarray(7 * cols, 8 * cols), 1);
    stats.add(x.subarray(8 * cols), n - 8);
    expect(stats.samples).toBe(n);
    for (let a = 0; a < cols; a++) {
      let sq = 0;
      for (let t = 0; t < n; t++) sq += x[t * cols + a]! ** 2;
      expect(stats.columnNorms()[a]).toBeCloseTo(Math.sqrt(sq), 10);
      for (let b = 0; b < cols; b++) {
        let h = 0;
        for (let t = 0; t < n; t++) h += x[t * cols + a]! * x[t * cols + b]!;
        expect(stats.hessian[a * cols + b]).toBeCloseTo((2 / n) * h, 10);
      }
    }
  });
});
