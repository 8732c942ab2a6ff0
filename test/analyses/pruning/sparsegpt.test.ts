/**
 * SparseGPT against direct least squares: with a fixed mask, its sweep must equal solving the
 * normal equations (same dampened H) for the weights it leaves free; with chosen masks it must beat
 * magnitude and Wanda on the layer-wise reconstruction error.
 */
import { describe, expect, it } from 'vitest';
import { nmMask, unstructuredMask } from '../../../analyses/pruning/patterns';
import { InputStats, magnitudeScores, wandaScores } from '../../../analyses/pruning/scores';
import {
  reconstructionError,
  reconstructionErrorFromInputs,
  sparseGpt,
} from '../../../analyses/pruning/sparsegpt';
import {
  correlatedInputs,
  dampedHessian,
  maxRelativeError,
  mulberry32,
  randomMatrix,
  solve,
} from './helpers';

const rows = 6;
const cols = 12;
const n = 64;
const w = randomMatrix(rows, cols, 1);
const x = randomMatrix(n, cols, 2);
const stats = new InputStats(cols);
stats.add(x, n);
const hd = dampedHessian(x, n, cols);

/** Apply a mask without any weight update. */
function applyMask(weights: Float32Array, mask: Uint8Array): Float32Array {
  return weights.map((v, i) => (mask[i] ? v : 0));
}

/**
 * Sequential least squares, row by row: for each pruned column j in order, set w_j = 0 and choose the
 * columns > j to minimise (ŵ − w)ᵀ·H·(ŵ − w) with the columns < j held at their current values.
 */
function sequentialLeastSquares(mask: Uint8Array): Float64Array {
  const out = Float64Array.from(w);
  for (let r = 0; r < rows; r++) {
    const row = out.subarray(r * cols, (r + 1) * cols);
    for (let j = 0; j < cols; j++) {
      if (mask[r * cols + j]) continue;
      const dj = -row[j]!;
      row[j] = 0;
      const k = cols - j - 1;
      if (k === 0) continue;
      const a = new Float64Array(k * k);
      const b = new Float64Array(k);
      for (let p = 0; p < k; p++) {
        for (let q = 0; q < k; q++) a[p * k + q] = hd[(j + 1 + p) * cols + j + 1 + q]!;
        b[p] = -hd[(j + 1 + p) * cols + j]! * dj;
      }
      const delta = solve(a, b, k);
      for (let p = 0; p < k; p++) row[j + 1 + p] = row[j + 1 + p]! + delta[p]!;
    }
  }
  return out;
}

describe('sparseGpt', () => {
  it('leaves W unchanged at sparsity 0 and with 4:4', () => {
    for (const opts of [{ sparsity: 0 }, { nm: { n: 4, m: 4 } }]) {
      const res = sparseGpt(w, rows, cols, stats.hessian, opts);
      expect(Array.from(res.weights)).toEqual(Array.from(w));
      expect(res.mask.every((v) => v === 1)).toBe(true);
      expect(res.loss).toBe(0);
    }
  });

  it('equals the least-squares solution when only column 0 is pruned', () => {
    const mask = new Uint8Array(rows * cols).fill(1);
    for (let r = 0; r < rows; r++) mask[r * cols] = 0;
    const res = sparseGpt(w, rows, cols, stats.hessian, { mask, blockSize: 5 });
    // Normal equations with ŵ_0 = 0: H_FF·ŵ_F = (H·w)_F, F = columns 1..cols−1.
    const k = cols - 1;
    const expected = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const a = new Float64Array(k * k);
      const b = new Float64Array(k);
      for (let p = 0; p < k; p++) {
        for (let q = 0; q < k; q++) a[p * k + q] = hd[(p + 1) * cols + q + 1]!;
        for (let q = 0; q < cols; q++) b[p] = b[p]! + hd[(p + 1) * cols + q]! * w[r * cols + q]!;
      }
      expected.set(solve(a, b, k), r * cols + 1);
    }
    expect(maxRelativeError(res.weights, expected)).toBeLessThan(1e-4);
    expect(Array.from(res.mask)).toEqual(Array.from(mask));
  });

  it('equals sequential least squares for a fixed mask, whatever the block size', () => {
    const rand = mulberry32(7);
    const mask = Uint8Array.from({ length: rows * cols }, () => (rand() < 0.45 ? 0 : 1));
    const expected = sequentialLeastSquares(mask);
    for (const blockSize of [1, 4, 128]) {
      const res = sparseGpt(w, rows, cols, stats.hessian, { mask, blockSize });
      expect(maxRelativeError(res.weights, expected)).toBeLessThan(1e-4);
      for (let i = 0; i < mask.length; i++) if (!mask[i]) expect(res.weights[i]).toBe(0);
    }
  });

  it('prunes exact counts: unstructured per layer, N:M per group', () => {
    const un = sparseGpt(w, rows, cols, stats.hessian, { sparsity: 0.5, blockSize: 5 });
    expect(un.mask.reduce((a, v) => a + v, 0)).toBe((rows * cols) / 2);
    const nm = sparseGpt(w, rows, cols, stats.hessian, { nm: { n: 1, m: 4 }, blockSize: 4 });
    for (let g = 0; g < rows * cols; g += 4) {
      expect(nm.mask.subarray(g, g + 4).reduce((a, v) => a + v, 0)).toBe(1);
    }
    for (let i = 0; i < nm.mask.length; i++) if (!nm.mask[i]) expect(nm.weights[i]).toBe(0);
  });

  it('zeroes dead input columns', () => {
    const xd = x.map((v, i) => (i % cols === 3 ? 0 : v));
    const s = new InputStats(cols);
    s.add(xd, n);
    const res = sparseGpt(w, rows, cols, s.hessian, { sparsity: 0 });
    for (let r = 0; r < rows; r++) expect(res.weights[r * cols + 3]).toBe(0);
  });

  it('rejects bad options', () => {
    expect(() => sparseGpt(w, rows, cols, stats.hessian, {})).toThrow(/exactly one/);
    expect(() => sparseGpt(w, rows, cols, stats.hessian, { nm: { n: 2, m: 5 } })).toThrow(/\[6, 12\]/);
    expect(() => sparseGpt(w, rows, cols, stats.hessian, { nm: { n: 2, m: 4 }, blockSize: 6 })).toThrow(
      /multiple/,
    );
  });

  it('beats magnitude and Wanda on reconstruction error (50 % and 2:4, correlated inputs)', () => {
    const R = 16;
    const C = 32;
    const N = 256;
    const wl = randomMatrix(R, C, 11);
    const xl = correlatedInputs(N, C, 12);
    const s = new InputStats(C);
    s.add(xl, N);
    const err = (wHat: Float32Array) => reconstructionError(wl, wHat, R, C, s.hessian);
    const mag = magnitudeScores(wl);
    const wanda = wandaScores(wl, R, C, s.columnNorms());

    const un = {
      magnitude: err(applyMask(wl, unstructuredMask(mag, R, C, 0.5, 'layer'))),
      wanda: err(applyMask(wl, unstructuredMask(wanda, R, C, 0.5, 'row'))),
      sparsegpt: err(sparseGpt(wl, R, C, s.hessian, { sparsity: 0.5 }).weights),
    };
    const semi = {
      magnitude: err(applyMask(wl, nmMask(mag, R, C, 2, 4))),
      wanda: err(applyMask(wl, nmMask(wanda, R, C, 2, 4))),
      sparsegpt: err(sparseGpt(wl, R, C, s.hessian, { nm: { n: 2, m: 4 } }).weights),
    };
    for (const e of [un, semi]) {
      expect(e.sparsegpt).toBeLessThan(e.wanda);
      expect(e.sparsegpt).toBeLessThan(e.magnitude);
      expect(e.wanda).toBeLessThan(e.magnitude);
    }
  });

  it('reconstructionError from H equals the direct error from X (scaled by n/2)', () => {
    const s = new InputStats(cols);
    // Streamed in uneven batches: the running average must still give (2/n)·XᵀX.
    s.add(x.subarray(0, 10 * cols), 10);
    s.add(x.subarray(10 * cols, 40 * cols), 30);
    s.add(x.subarray(40 * cols), n - 40);
    const res = sparseGpt(w, rows, cols, s.hessian, { sparsity: 0.5 });
    const viaH = reconstructionError(w, res.weights, rows, cols, s.hessian);
    const direct = reconstructionErrorFromInputs(w, res.weights, rows, cols, x, n);
    expect(viaH * (n / 2)).toBeCloseTo(direct, 6);
    expect(Math.abs(viaH * (n / 2) - direct) / direct).toBeLessThan(1e-9);
  });
});
