/**
 * Efficiency accounting for a pruned linear layer [rows = out, cols = in]: what it costs to store and
 * to run. Byte counts assume float32 values and int32 indices, as in METHODS.md:
 *
 * - dense: 4 bytes per entry, zeros included;
 * - CSR: values (4·nnz) + column indices (4·nnz) + row pointers (4·(rows + 1));
 * - N:M compressed (NVIDIA's 2:4 layout): the kept values only (n/m of the entries) plus
 *   ⌈log₂ m⌉ bits of position metadata per kept value (2 bits for 2:4).
 *
 * CSR only pays off below ~50 % density (each value drags an index along); 2:4 saves ~47 % of
 * the dense bytes at exactly 50 % density.
 */

/** Kept entries of a mask (1 = kept). */
export function countNonzeros(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) n++;
  return n;
}

/** Bytes of a dense float32 matrix. */
export function denseBytes(rows: number, cols: number): number {
  return 4 * rows * cols;
}

/**
 * Bytes of a CSR matrix with `nnz` stored values.
 *
 * @example
 * csrBytes(6, 2); // 4·6 + 4·6 + 4·3 = 60
 */
export function csrBytes(nnz: number, rows: number): number {
  return 8 * nnz + 4 * (rows + 1);
}

/**
 * Bytes of an N:M compressed matrix (default 2:4): n/m of the values as float32 plus ⌈log₂ m⌉ bits
 * of index metadata per kept value, rounded up to whole bytes.
 *
 * @example
 * nmCompressedBytes(4, 8); // values 4·16 = 64, metadata 16·2 bits = 4 bytes → 68
 */
export function nmCompressedBytes(rows: number, cols: number, n = 2, m = 4): number {
  if (!Number.isInteger(n) || !Number.isInteger(m) || m < 1 || n < 0 || n > m) {
    throw new RangeError(`nmCompressedBytes: invalid ${n}:${m}`);
  }
  if (cols % m !== 0)
    throw new RangeError(`nmCompressedBytes: [${rows}, ${cols}] has cols not divisible by ${m}`);
  const kept = (rows * cols * n) / m;
  const bits = Math.ceil(Math.log2(m));
  return 4 * kept + Math.ceil((kept * bits) / 8);
}

/** FLOPs per token of a linear layer with `nnz` non-zero weights: one multiply and one add each. */
export function linearFlops(nnz: number): number {
  return 2 * nnz;
}

/** FLOPs per token of the dense layer: 2·rows·cols. */
export function denseLinearFlops(rows: number, cols: number): number {
  return 2 * rows * cols;
}

/** Everything the efficiency table shows for one pruned layer. */
export interface StorageReport {
  nnz: number;
  density: number;
  denseBytes: number;
  csrBytes: number;
  /** 2:4 compressed bytes; null when cols is not a multiple of 4. */
  nm24Bytes: number | null;
  flops: number;
  denseFlops: number;
}

/** Summarise a mask [rows, cols] (1 = kept). */
export function storageReport(mask: ArrayLike<number>, rows: number, cols: number): StorageReport {
  if (mask.length !== rows * cols) throw new RangeError(`storageReport: mask is not [${rows}, ${cols}]`);
  const nnz = countNonzeros(mask);
  return {
    nnz,
    density: rows * cols > 0 ? nnz / (rows * cols) : 0,
    denseBytes: denseBytes(rows, cols),
    csrBytes: csrBytes(nnz, rows),
    nm24Bytes: cols % 4 === 0 ? nmCompressedBytes(rows, cols) : null,
    flops: linearFlops(nnz),
    denseFlops: denseLinearFlops(rows, cols),
  };
}
