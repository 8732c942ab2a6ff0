/**
 * Importance scores for the weights of one linear layer, and the calibration statistics they need.
 *
 * Conventions of the pruning lab: a weight W is row-major [rows = out, cols = in] with y = W·x;
 * calibration inputs X are row-major [n, cols] (one row per token). Scores have W's shape; a larger
 * score means more important (pruned later).
 */

/**
 * Magnitude score |W_ij| (the classic baseline; compared per layer or globally).
 *
 * @example
 * magnitudeScores(new Float32Array([-2, 1])); // [2, 1]
 */
export function magnitudeScores(w: ArrayLike<number>): Float32Array {
  const s = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) s[i] = Math.abs(w[i]!);
  return s;
}

/**
 * Wanda score S_ij = |W_ij|·‖X_j‖₂ (Sun et al., "A Simple and Effective Pruning Approach for LLMs"):
 * a small weight on an input feature with large activations (an outlier channel) still matters, so
 * the input norm rescales the magnitude. Any positive common factor on the norms (e.g. the reference
 * code's mean over samples) leaves per-row rankings unchanged.
 *
 * @param inputNorms ‖X_j‖₂ for each input feature j (length cols), e.g. `InputStats.columnNorms()`.
 * @example
 * wandaScores(new Float32Array([1, 1]), 1, 2, [3, 0.5]); // [3, 0.5]
 */
export function wandaScores(
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  inputNorms: ArrayLike<number>,
): Float32Array {
  if (w.length !== rows * cols)
    throw new RangeError(`wandaScores: W has ${w.length} entries, not ${rows}×${cols}`);
  if (inputNorms.length !== cols) {
    throw new RangeError(`wandaScores: inputNorms has length ${inputNorms.length}, expected cols = ${cols}`);
  }
  const s = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) s[o + j] = Math.abs(w[o + j]!) * inputNorms[j]!;
  }
  return s;
}

/**
 * Per-column sum of squares Σ_t X_tj² of a batch X [n, cols], added into `into` when given (so
 * batches can be streamed). Returns the accumulator.
 *
 * @example
 * columnNormsSquared(new Float32Array([1, 2, 3, 4]), 2, 2); // [10, 20]
 */
export function columnNormsSquared(
  x: ArrayLike<number>,
  n: number,
  cols: number,
  into: Float64Array = new Float64Array(cols),
): Float64Array {
  if (x.length !== n * cols)
    throw new RangeError(`columnNormsSquared: X has ${x.length} entries, not ${n}×${cols}`);
  if (into.length !== cols)
    throw new RangeError(`columnNormsSquared: accumulator length ${into.length} ≠ ${cols}`);
  for (let t = 0; t < n; t++) {
    const o = t * cols;
    for (let j = 0; j < cols; j++) {
      const v = x[o + j]!;
      into[j] = into[j]! + v * v;
    }
  }
  return into;
}

/**
 * Streaming calibration statistics of one layer's inputs, so Wanda and SparseGPT are calibrated
 * from a single pass over the calibration set:
 *
 * - `sumSquares[j]` = Σ_t X_tj² (Wanda's ‖X_j‖₂²), a plain sum;
 * - `hessian` = H = (2/n)·XᵀX over all n rows seen so far (SparseGPT's layer-wise Hessian of
 *   ‖WX − ŴX‖²), kept as the reference implementation's running average: before a batch of b rows
 *   H ← H·n/(n+b), then H += (2/(n+b))·XᵦᵀXᵦ. The reference counts sequences in n; here n counts
 *   rows (tokens), which only rescales H and does not change SparseGPT's result (its dampening is
 *   relative to mean(diag H)).
 *
 * Float64 accumulation, since H sums many outer products.
 *
 * @example
 * const stats = new InputStats(cols);
 * for (const batch of batches) stats.add(batch.x, batch.n);
 * wandaScores(w, rows, cols, stats.columnNorms());
 * sparseGpt(w, rows, cols, stats.hessian, { sparsity: 0.5 });
 */
export class InputStats {
  readonly sumSquares: Float64Array;
  readonly hessian: Float64Array;
  private count = 0;

  constructor(readonly cols: number) {
    if (!Number.isInteger(cols) || cols <= 0) throw new RangeError(`InputStats: invalid cols ${cols}`);
    this.sumSquares = new Float64Array(cols);
    this.hessian = new Float64Array(cols * cols);
  }

  /** Rows (tokens) accumulated so far. */
  get samples(): number {
    return this.count;
  }

  /** Add a batch X [n, cols]. */
  add(x: ArrayLike<number>, n: number): void {
    const cols = this.cols;
    if (x.length !== n * cols)
      throw new RangeError(`InputStats.add: X has ${x.length} entries, not ${n}×${cols}`);
    if (n === 0) return;
    columnNormsSquared(x, n, cols, this.sumSquares);
    const h = this.hessian;
    const total = this.count + n;
    const decay = this.count / total;
    const scale = 2 / total;
    for (let i = 0; i < h.length; i++) h[i] = h[i]! * decay;
    // Upper triangle of XᵀX, one token's outer product at a time; mirrored below.
    for (let t = 0; t < n; t++) {
      const o = t * cols;
      for (let a = 0; a < cols; a++) {
        const xa = x[o + a]! * scale;
        if (xa === 0) continue;
        const ra = a * cols;
        for (let b = a; b < cols; b++) h[ra + b] = h[ra + b]! + xa * x[o + b]!;
      }
    }
    for (let a = 0; a < cols; a++) for (let b = 0; b < a; b++) h[a * cols + b] = h[b * cols + a]!;
    this.count = total;
  }

  /** ‖X_j‖₂ for every input feature: Wanda's `inputNorms`. */
  columnNorms(): Float64Array {
    return this.sumSquares.map(Math.sqrt);
  }
}
