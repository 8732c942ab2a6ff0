/** Numeric checks shared by the parsers and the evaluation: a non-finite number is an error. */

/** Index of the first NaN or ±Infinity in x, or −1. */
export function firstNonFinite(x: ArrayLike<number>): number {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v - v !== 0) return i; // NaN − NaN and ∞ − ∞ are NaN
  }
  return -1;
}
