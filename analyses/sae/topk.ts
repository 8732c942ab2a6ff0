/**
 * Partial selection of the k largest values of a row, shared by the TopK activation and the AuxK
 * loss. k is small next to d_sae, so a sorted buffer of k with an early threshold test beats a full
 * sort: most values fail the single comparison against the current k-th largest.
 */

/**
 * Write into `outIdx` the indices of the k largest `values[offset + j]` (j < len, and `allowed[j]`
 * when given), largest first; returns how many were found (< k only if fewer are allowed). Ties go
 * to the lower index, so the choice is deterministic.
 *
 * @example
 * const idx = new Int32Array(2);
 * topKIndices(Float32Array.of(1, 5, 3), 0, 3, 2, idx); // 2, idx = [1, 2]
 */
export function topKIndices(
  values: Float32Array,
  offset: number,
  len: number,
  k: number,
  outIdx: Int32Array,
  allowed?: Uint8Array,
  scratch: Float64Array = new Float64Array(k),
): number {
  let filled = 0;
  for (let j = 0; j < len; j++) {
    if (allowed && !allowed[j]) continue;
    const v = values[offset + j]!;
    if (filled === k && !(v > scratch[k - 1]!)) continue;
    let pos = filled < k ? filled++ : k - 1;
    while (pos > 0 && scratch[pos - 1]! < v) {
      scratch[pos] = scratch[pos - 1]!;
      outIdx[pos] = outIdx[pos - 1]!;
      pos--;
    }
    scratch[pos] = v;
    outIdx[pos] = j;
  }
  return filled;
}
