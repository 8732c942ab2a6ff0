/**
 * One matrix of a pruned variant as the point view shows it: the keep mask (1 = kept) and the
 * values after pruning — SparseGPT's updated values, else the dense weights where kept. A matrix
 * the variant leaves dense is all kept. Pure.
 */
import type { PrunedWeight } from './prune-block';

export interface PrunedMatrix {
  mask: Float32Array;
  values: Float32Array;
  /** Kept weights. */
  nonzeros: number;
}

/**
 * @example
 * prunedMatrix(new Float32Array([1, -2]), { mask: new Uint8Array([1, 0]), … }).values; // [1, 0]
 */
export function prunedMatrix(
  dense: Float32Array,
  weight: Pick<PrunedWeight, 'mask' | 'values'> | undefined,
): PrunedMatrix {
  const mask = weight ? Float32Array.from(weight.mask) : new Float32Array(dense.length).fill(1);
  const values = weight?.values ? weight.values.slice() : dense.map((x, i) => (mask[i] ? x : 0));
  let nonzeros = 0;
  for (const v of mask) nonzeros += v ? 1 : 0;
  return { mask, values, nonzeros };
}
