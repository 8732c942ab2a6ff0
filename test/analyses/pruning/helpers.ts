/** Seeded randomness and small dense solvers for the pruning tests (independent of analyses/pruning/linalg). */

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller) from a uniform source. */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const g = gaussian(mulberry32(seed));
  return Float32Array.from({ length: rows * cols }, g);
}

/** Inputs [n, cols] with correlated features: X = Z·A plus per-feature scales (a few outlier features). */
export function correlatedInputs(n: number, cols: number, seed: number): Float32Array {
  const g = gaussian(mulberry32(seed));
  const z = Array.from({ length: n * cols }, g);
  const a = Array.from({ length: cols * cols }, g);
  const scale = Array.from({ length: cols }, (_, j) => (j % 7 === 0 ? 8 : 0.5 + (j % 3)));
  const x = new Float32Array(n * cols);
  for (let t = 0; t < n; t++) {
    for (let j = 0; j < cols; j++) {
      let s = z[t * cols + j]! * 0.3;
      for (let k = 0; k < cols; k++) s += z[t * cols + k]! * a[k * cols + j]! * 0.3;
      x[t * cols + j] = s * scale[j]!;
    }
  }
  return x;
}

/** Solve A·x = b (A [n, n] row-major) by Gaussian elimination with partial pivoting. */
export function solve(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        const t = m[c * n + k]!;
        m[c * n + k] = m[p * n + k]!;
        m[p * n + k] = t;
      }
      const t = x[c]!;
      x[c] = x[p]!;
      x[p] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / m[c * n + c]!;
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] = m[r * n + k]! - f * m[c * n + k]!;
      x[r] = x[r]! - f * x[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let k = r + 1; k < n; k++) s -= m[r * n + k]! * x[k]!;
    x[r] = s / m[r * n + r]!;
  }
  return x;
}

/** H = (2/n)·XᵀX + percdamp·mean(diag)·I, computed directly. */
export function dampedHessian(x: ArrayLike<number>, n: number, cols: number, percdamp = 0.01): Float64Array {
  const h = new Float64Array(cols * cols);
  for (let t = 0; t < n; t++)
    for (let a = 0; a < cols; a++)
      for (let b = 0; b < cols; b++)
        h[a * cols + b] = h[a * cols + b]! + (2 / n) * x[t * cols + a]! * x[t * cols + b]!;
  let mean = 0;
  for (let i = 0; i < cols; i++) mean += h[i * cols + i]! / cols;
  for (let i = 0; i < cols; i++) h[i * cols + i] = h[i * cols + i]! + percdamp * mean;
  return h;
}

export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num = Math.max(num, Math.abs(actual[i]! - expected[i]!));
    den = Math.max(den, Math.abs(expected[i]!));
  }
  return num / (den || 1);
}
