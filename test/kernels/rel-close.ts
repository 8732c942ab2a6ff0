/** Mixed relative/absolute closeness for kernels whose outputs span many magnitudes. */
import { expect } from 'vitest';

/**
 * The worst element of |actual − expected| / (|expected| + floor): a relative error that turns
 * absolute below |expected| ≈ floor (so values that should be ~0 are judged by absolute error).
 */
export function maxRelErr(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  floor: number,
): { err: number; at: number } {
  if (actual.length !== expected.length) {
    throw new Error(`length mismatch: ${actual.length} vs ${expected.length}`);
  }
  let err = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    const e = d === 0 ? 0 : d / (Math.abs(expected[i]!) + floor);
    if (!(e <= err)) {
      err = Number.isNaN(e) ? Infinity : e;
      at = i;
    }
  }
  return { err, at };
}

/** Assert |actual − expected| ≤ rtol·(|expected| + floor) elementwise, reporting the worst element. */
export function expectRelClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  floor: number,
  what = '',
): void {
  const { err, at } = maxRelErr(actual, expected, floor);
  expect(
    err,
    `${what} max relative error ${err} at ${at} (actual ${actual[at]}, expected ${expected[at]}) exceeds ${rtol}`,
  ).toBeLessThanOrEqual(rtol);
}
