/** Cholesky, its inverse and the upper factor, against hand-computed and random SPD matrices. */
import { describe, expect, it } from 'vitest';
import {
  cholesky,
  choleskyInverse,
  matmul,
  NotPositiveDefiniteError,
  upperCholesky,
} from '../../../analyses/pruning/linalg';
import { randomMatrix } from './helpers';

function transpose(a: ArrayLike<number>, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j]!;
  return t;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-10) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(tol);
}

/** A random SPD matrix BᵀB + I. */
function randomSpd(n: number, seed: number): Float64Array {
  const b = randomMatrix(n, n, seed);
  const a = matmul(transpose(b, n), b, n, n, n);
  for (let i = 0; i < n; i++) a[i * n + i] = a[i * n + i]! + 1;
  return a;
}

describe('linalg', () => {
  it('factors a known 3×3 matrix', () => {
    // A = L·Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]] (the textbook example).
    const a = [4, 12, -16, 12, 37, -43, -16, -43, 98];
    expectClose(cholesky(a, 3), [2, 0, 0, 6, 1, 0, -8, 5, 3]);
    expectClose(upperCholesky(a, 3), [2, 6, -8, 0, 1, 5, 0, 0, 3]);
  });

  it('inverts a known 2×2 matrix', () => {
    // [[4, 2], [2, 3]]⁻¹ = [[3, −2], [−2, 4]] / 8
    expectClose(choleskyInverse(cholesky([4, 2, 2, 3], 2), 2), [3 / 8, -2 / 8, -2 / 8, 4 / 8]);
  });

  it('reconstructs and inverts random SPD matrices', () => {
    for (const n of [1, 5, 17]) {
      const a = randomSpd(n, n);
      const l = cholesky(a, n);
      expectClose(matmul(l, transpose(l, n), n, n, n), a, 1e-9);
      const inv = choleskyInverse(l, n);
      const eye = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
      expectClose(matmul(a, inv, n, n, n), eye, 1e-9);
      const u = upperCholesky(inv, n);
      expectClose(matmul(transpose(u, n), u, n, n, n), inv, 1e-9);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(u[i * n + j]).toBe(0);
    }
  });

  it('rejects matrices that are not positive definite or not square', () => {
    expect(() => cholesky([1, 2, 2, 1], 2)).toThrow(NotPositiveDefiniteError);
    expect(() => cholesky([1, 2, 3], 2)).toThrow(/2×2/);
  });
});
