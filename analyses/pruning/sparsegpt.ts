/**
 * SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language Models Can Be Accurately Pruned in
 * One-Shot"), following the reference `SparseGPT.fasterprune`:
 *
 * 1. Dead inputs (H_ii = 0, the feature never fires) get H_ii = 1 and W[:, i] = 0.
 * 2. Dampen: H += percdamp·mean(diag H)·I, so H is safely positive definite.
 * 3. U = upper Cholesky factor of H⁻¹. Row i of U, divided by U_ii, is the optimal (OBS) update of
 *    the columns ≥ i when weight i is removed with columns < i frozen — so one left-to-right sweep
 *    over the columns both prunes and compensates, and the rows share one U.
 * 4. Walk columns in blocks of `blockSize`. Choose the block's mask by w²/U_jj² (the OBS saliency);
 *    for column i, err = (w_i − q_i)/U_ii and W[:, i:] −= err ⊗ U[i, i:] inside the block; the block's
 *    errors reach later columns lazily, once per block: W[:, end:] −= Err·U[block, end:].
 *
 * Deviation from the reference, chosen for exact counts: unstructured selection prunes exactly
 * round(s·rows·end) − round(s·rows·start) entries per block (ties by index), so the layer loses exactly
 * round(s·rows·cols), and sparsity 0 prunes nothing. The reference prunes `tmp <= sorted[int(numel·s)]`,
 * one entry more per block. As in the reference, the unstructured comparison is per block across all
 * rows (not per row); N:M picks the m − n lowest of each group of M columns when the sweep reaches the
 * group's first column (after earlier columns' compensation).
 */
import { cholesky, choleskyInverse, upperCholesky } from './linalg';

export { reconstructionError, reconstructionErrorFromInputs } from './reconstruction';

/** What to prune: exactly one of `sparsity`, `nm` or `mask`. */
export interface SparseGptOptions {
  /** Unstructured sparsity in [0, 1]. */
  sparsity?: number;
  /** Semi-structured N:M: keep `n` of every `m` consecutive input columns. */
  nm?: { n: number; m: number };
  /** Fixed keep mask [rows, cols] (1 = kept): only compensate, do not choose. */
  mask?: Uint8Array;
  /** Columns per lazy-update block (default 128); a multiple of M for N:M. */
  blockSize?: number;
  /** Dampening as a fraction of mean(diag H) (default 0.01). */
  percdamp?: number;
}

export interface SparseGptResult {
  /** Pruned and compensated weights [rows, cols]; pruned entries are exactly 0. */
  weights: Float32Array;
  /** 1 = kept. */
  mask: Uint8Array;
  /** The reference's loss estimate Σ (w − q)²/U_ii² / 2 over all pruned weights. */
  loss: number;
}

/**
 * Prune one linear layer W [rows = out, cols = in] with the (cols × cols) Hessian H = (2/n)·XᵀX
 * (`InputStats.hessian`; it is not modified).
 *
 * @example
 * sparseGpt(w, rows, cols, stats.hessian, { sparsity: 0.5 });
 * sparseGpt(w, rows, cols, stats.hessian, { nm: { n: 2, m: 4 } });
 */
export function sparseGpt(
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  h: ArrayLike<number>,
  options: SparseGptOptions,
): SparseGptResult {
  const { sparsity, nm, mask: fixed } = options;
  const blockSize = options.blockSize ?? 128;
  const percdamp = options.percdamp ?? 0.01;
  if (w.length !== rows * cols)
    throw new RangeError(`sparseGpt: W has ${w.length} entries, not [${rows}, ${cols}]`);
  if (h.length !== cols * cols)
    throw new RangeError(`sparseGpt: H has ${h.length} entries, not [${cols}, ${cols}]`);
  if ([sparsity, nm, fixed].filter((v) => v !== undefined).length !== 1) {
    throw new Error('sparseGpt: give exactly one of sparsity, nm or mask');
  }
  if (sparsity !== undefined && !(sparsity >= 0 && sparsity <= 1)) {
    throw new RangeError(`sparseGpt: sparsity ${sparsity} is not in [0, 1]`);
  }
  if (fixed !== undefined && fixed.length !== rows * cols) {
    throw new RangeError(`sparseGpt: mask has ${fixed.length} entries, not [${rows}, ${cols}]`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 1)
    throw new RangeError(`sparseGpt: invalid blockSize ${blockSize}`);
  if (!(percdamp >= 0)) throw new RangeError(`sparseGpt: invalid percdamp ${percdamp}`);
  if (nm !== undefined) {
    const { n, m } = nm;
    if (!Number.isInteger(n) || !Number.isInteger(m) || m < 1 || n < 0 || n > m) {
      throw new RangeError(`sparseGpt: invalid ${n}:${m} (need integers 0 ≤ N ≤ M, M ≥ 1)`);
    }
    if (cols % m !== 0) {
      throw new RangeError(
        `sparseGpt: ${n}:${m} needs cols divisible by ${m}, but the weight is [${rows}, ${cols}]`,
      );
    }
    if (blockSize % m !== 0)
      throw new RangeError(`sparseGpt: blockSize ${blockSize} must be a multiple of M = ${m}`);
  }

  const W = Float64Array.from(w);
  const H = Float64Array.from(h);
  let diagSum = 0;
  for (let i = 0; i < cols; i++) {
    if (H[i * cols + i] === 0) {
      H[i * cols + i] = 1;
      for (let r = 0; r < rows; r++) W[r * cols + i] = 0;
    }
    diagSum += H[i * cols + i]!;
  }
  const damp = cols > 0 ? (percdamp * diagSum) / cols : 0;
  for (let i = 0; i < cols; i++) H[i * cols + i] = H[i * cols + i]! + damp;
  const U = upperCholesky(choleskyInverse(cholesky(H, cols), cols), cols);

  const mask = fixed ? Uint8Array.from(fixed) : new Uint8Array(rows * cols).fill(1);
  let loss = 0;
  const err = new Float64Array(rows * blockSize);

  for (let i1 = 0; i1 < cols; i1 += blockSize) {
    const i2 = Math.min(i1 + blockSize, cols);
    const count = i2 - i1;
    if (sparsity !== undefined) {
      const k = Math.round(sparsity * rows * i2) - Math.round(sparsity * rows * i1);
      selectBlock(W, U, mask, rows, cols, i1, count, k);
    }
    err.fill(0);
    for (let i = i1; i < i2; i++) {
      if (nm !== undefined && (i - i1) % nm.m === 0) selectGroup(W, U, mask, rows, cols, i, nm.n, nm.m);
      const d = U[i * cols + i]!;
      for (let r = 0; r < rows; r++) {
        const ro = r * cols;
        if (mask[ro + i] === 1) continue;
        const wi = W[ro + i]!;
        if (wi === 0) continue;
        const e = wi / d;
        loss += (e * e) / 2;
        err[r * blockSize + (i - i1)] = e;
        // W[r, i:i2] −= e·U[i, i:i2]; at i itself this zeroes the weight (set exactly below).
        const ui = i * cols;
        for (let j = i + 1; j < i2; j++) W[ro + j] = W[ro + j]! - e * U[ui + j]!;
        W[ro + i] = 0;
      }
    }
    if (i2 < cols) {
      // Lazy batch update of the columns after the block: W[:, i2:] −= Err · U[i1:i2, i2:].
      for (let r = 0; r < rows; r++) {
        const ro = r * cols;
        for (let c = 0; c < count; c++) {
          const e = err[r * blockSize + c]!;
          if (e === 0) continue;
          const ui = (i1 + c) * cols;
          for (let j = i2; j < cols; j++) W[ro + j] = W[ro + j]! - e * U[ui + j]!;
        }
      }
    }
  }
  return { weights: Float32Array.from(W), mask, loss };
}

/** Unstructured choice for one block: prune the `k` lowest w²/U_jj² across all rows of the block. */
function selectBlock(
  W: Float64Array,
  U: Float64Array,
  mask: Uint8Array,
  rows: number,
  cols: number,
  i1: number,
  count: number,
  k: number,
): void {
  if (k <= 0) return;
  const tmp = new Float64Array(rows * count);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < count; c++) {
      const wv = W[r * cols + i1 + c]!;
      const d = U[(i1 + c) * cols + i1 + c]!;
      tmp[r * count + c] = (wv * wv) / (d * d);
    }
  }
  const order = new Uint32Array(rows * count).map((_, i) => i);
  order.sort((a, b) => tmp[a]! - tmp[b]! || a - b);
  for (let i = 0; i < k; i++) {
    const p = order[i]!;
    mask[Math.floor(p / count) * cols + i1 + (p % count)] = 0;
  }
}

/** N:M choice for the group starting at column `i`: prune the m − n lowest w²/U_jj² of each row. */
function selectGroup(
  W: Float64Array,
  U: Float64Array,
  mask: Uint8Array,
  rows: number,
  cols: number,
  i: number,
  n: number,
  m: number,
): void {
  const tmp = new Float64Array(m);
  const order = new Uint32Array(m);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < m; c++) {
      const wv = W[r * cols + i + c]!;
      const d = U[(i + c) * cols + i + c]!;
      tmp[c] = (wv * wv) / (d * d);
      order[c] = c;
    }
    order.sort((a, b) => tmp[a]! - tmp[b]! || a - b);
    for (let c = 0; c < m - n; c++) mask[r * cols + i + order[c]!] = 0;
  }
}
