/**
 * Dense float64 linear algebra that SparseGPT needs: Cholesky factors of the (cols × cols) input
 * Hessian and the inverse built from them, mirroring `torch.linalg.cholesky`,
 * `torch.cholesky_inverse` and `torch.linalg.cholesky(·, upper=True)` of the reference code.
 *
 * Matrices are square, row-major `Float64Array`s of n·n entries. Float64 throughout because H is a
 * sum of many outer products and its inverse is ill-conditioned for correlated inputs; float32 would
 * make the Cholesky of H⁻¹ fail on real layers.
 */

/** Thrown when a matrix handed to `cholesky` is not (numerically) positive definite. */
export class NotPositiveDefiniteError extends Error {
  constructor(
    readonly pivot: number,
    readonly value: number,
  ) {
    super(`matrix is not positive definite: pivot ${pivot} is ${value}`);
    this.name = 'NotPositiveDefiniteError';
  }
}

function checkSquare(a: ArrayLike<number>, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what}: invalid size ${n}`);
  if (a.length !== n * n)
    throw new RangeError(`${what}: expected ${n}×${n} = ${n * n} entries, got ${a.length}`);
}

/**
 * Lower Cholesky factor L of a symmetric positive-definite A (A = L·Lᵀ). Only the lower triangle of
 * A is read. Throws `NotPositiveDefiniteError` on a non-positive pivot.
 *
 * @example
 * cholesky(new Float64Array([4, 2, 2, 3]), 2); // [2, 0, 1, √2]
 */
export function cholesky(a: ArrayLike<number>, n: number): Float64Array {
  checkSquare(a, n, 'cholesky');
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j]!;
    for (let k = 0; k < j; k++) d -= l[rj + k]! * l[rj + k]!;
    if (!(d > 0)) throw new NotPositiveDefiniteError(j, d);
    const ljj = Math.sqrt(d);
    l[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      // Dot product of the two row prefixes: contiguous in row-major storage.
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= l[ri + k]! * l[rj + k]!;
      l[ri + j] = s / ljj;
    }
  }
  return l;
}

/** Inverse of a lower-triangular matrix (itself lower triangular). */
export function invertLowerTriangular(l: ArrayLike<number>, n: number): Float64Array {
  checkSquare(l, n, 'invertLowerTriangular');
  const m = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    m[j * n + j] = 1 / l[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = 0;
      for (let k = j; k < i; k++) s += l[ri + k]! * m[k * n + j]!;
      m[ri + j] = -s / l[ri + i]!;
    }
  }
  return m;
}

/**
 * A⁻¹ from the lower Cholesky factor L of A (like `torch.cholesky_inverse`): A⁻¹ = L⁻ᵀ·L⁻¹.
 *
 * @example
 * choleskyInverse(cholesky(a, n), n); // A⁻¹, symmetric
 */
export function choleskyInverse(l: ArrayLike<number>, n: number): Float64Array {
  const m = invertLowerTriangular(l, n);
  const inv = new Float64Array(n * n);
  // (MᵀM)[a][b] = Σ_k M[k][a]·M[k][b]; M lower ⇒ k ≥ max(a, b). Accumulate row k's outer product.
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let a = 0; a <= k; a++) {
      const mka = m[rk + a]!;
      if (mka === 0) continue;
      const ra = a * n;
      for (let b = 0; b <= a; b++) inv[ra + b] = inv[ra + b]! + mka * m[rk + b]!;
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) inv[b * n + a] = inv[a * n + b]!;
  return inv;
}

/** Upper Cholesky factor U of A (A = Uᵀ·U), i.e. the transpose of `cholesky(a)`. */
export function upperCholesky(a: ArrayLike<number>, n: number): Float64Array {
  const l = cholesky(a, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = l[i * n + j]!;
  return u;
}

/** C = A·B for row-major A [r, k] and B [k, c]; float64 result. */
export function matmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  r: number,
  k: number,
  c: number,
): Float64Array {
  if (a.length !== r * k || b.length !== k * c) {
    throw new RangeError(`matmul: shapes [${r}, ${k}]·[${k}, ${c}] do not match ${a.length} and ${b.length}`);
  }
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      const rb = p * c;
      const ro = i * c;
      for (let j = 0; j < c; j++) out[ro + j] = out[ro + j]! + aip * b[rb + j]!;
    }
  }
  return out;
}
