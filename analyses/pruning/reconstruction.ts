/**
 * Layer-wise reconstruction error ‖W·Xᵀ − Ŵ·Xᵀ‖²_F, the objective SparseGPT minimises: how far the
 * pruned layer's outputs move on the calibration inputs (rows of X are tokens).
 */

function checkPair(what: string, w: ArrayLike<number>, wHat: ArrayLike<number>, rows: number, cols: number) {
  if (w.length !== rows * cols || wHat.length !== rows * cols) {
    throw new RangeError(
      `${what}: W and Ŵ must both be [${rows}, ${cols}] (got ${w.length} and ${wHat.length})`,
    );
  }
}

/**
 * trace((W − Ŵ)·H·(W − Ŵ)ᵀ) = Σ_rows Δ_r·H·Δ_rᵀ from the Hessian alone, without the inputs.
 *
 * Scaling: with H = (2/n)·XᵀX (as `InputStats.hessian`, undampened) this is
 * (2/n)·‖(W − Ŵ)·Xᵀ‖²_F, i.e. twice the mean over tokens of the squared output error; multiply by
 * n/2 for the plain sum of squares. Pass the undampened H, or the dampening term leaks in.
 *
 * @example
 * reconstructionError(w, pruned.weights, rows, cols, stats.hessian) * stats.samples / 2; // ‖ΔXᵀ‖²
 */
export function reconstructionError(
  w: ArrayLike<number>,
  wHat: ArrayLike<number>,
  rows: number,
  cols: number,
  h: ArrayLike<number>,
): number {
  checkPair('reconstructionError', w, wHat, rows, cols);
  if (h.length !== cols * cols) throw new RangeError(`reconstructionError: H must be [${cols}, ${cols}]`);
  const d = new Float64Array(cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) d[j] = w[r * cols + j]! - wHat[r * cols + j]!;
    for (let a = 0; a < cols; a++) {
      const da = d[a]!;
      if (da === 0) continue;
      let s = 0;
      for (let b = 0; b < cols; b++) s += h[a * cols + b]! * d[b]!;
      total += da * s;
    }
  }
  return total;
}

/**
 * ‖(W − Ŵ)·Xᵀ‖²_F computed directly from the inputs X [n, cols]; the ground truth that
 * `reconstructionError` reproduces from H.
 */
export function reconstructionErrorFromInputs(
  w: ArrayLike<number>,
  wHat: ArrayLike<number>,
  rows: number,
  cols: number,
  x: ArrayLike<number>,
  n: number,
): number {
  checkPair('reconstructionErrorFromInputs', w, wHat, rows, cols);
  if (x.length !== n * cols) throw new RangeError(`reconstructionErrorFromInputs: X must be [${n}, ${cols}]`);
  const d = new Float64Array(rows * cols);
  for (let i = 0; i < d.length; i++) d[i] = w[i]! - wHat[i]!;
  let total = 0;
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let y = 0;
      for (let j = 0; j < cols; j++) y += d[r * cols + j]! * x[t * cols + j]!;
      total += y * y;
    }
  }
  return total;
}
