import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';

/** Words of a packed mask for `n` entries: 32 entries per 32-bit word. */
export function maskWords(n: number): number {
  return Math.ceil(n / 32);
}

/**
 * Pack a 0/1 mask (1 = kept) into 32-bit words, entry i at bit i & 31 of word i >> 5, as
 * `applyMask` reads it.
 *
 * @example
 * packMask(Uint8Array.of(1, 0, 1)); // Int32Array [5]
 */
export function packMask(mask: ArrayLike<number>): Int32Array {
  const words = new Int32Array(maskWords(mask.length));
  for (let i = 0; i < mask.length; i++) if (mask[i]) words[i >> 5]! |= 1 << (i & 31);
  return words;
}

/** Throw unless `mask` is an i32 tensor of exactly `maskWords(w.size)` words. */
export function checkMaskWords(w: Tensor<'f32'>, mask: Tensor<'i32'>): void {
  if (mask.dtype !== 'i32' || mask.size !== maskWords(w.size)) {
    throw new Error(
      `applyMask: the mask must be ${maskWords(w.size)} i32 words for a [${w.shape.join(', ')}] weight, got ${mask.dtype} [${mask.shape.join(', ')}]`,
    );
  }
}

/** Reference: w with every entry whose mask bit is 0 set to 0 (pruning without touching w). */
export function applyMaskCpu(w: Tensor<'f32'>, mask: Tensor<'i32'>): Tensor<'f32'> {
  checkMaskWords(w, mask);
  const W = cpu(w).data;
  const M = cpu(mask).data;
  const out = new Float32Array(W.length);
  for (let i = 0; i < W.length; i++) out[i] = (M[i >> 5]! >>> (i & 31)) & 1 ? W[i]! : 0;
  return f32(out, w.shape);
}
