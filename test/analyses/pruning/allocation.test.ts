/** Per-layer sparsity: the weighted mean hits the target, less sensitive layers get more. */
import { describe, expect, it } from 'vitest';
import { sensitivityAllocation, uniformAllocation } from '../../../analyses/pruning/allocation';

const weightedMean = (s: number[], sizes: number[]) =>
  s.reduce((a, v, i) => a + v * sizes[i]!, 0) / sizes.reduce((a, b) => a + b, 0);

describe('allocation', () => {
  it('uniform gives every layer the target', () => {
    expect(uniformAllocation(3, 0.5)).toEqual([0.5, 0.5, 0.5]);
  });

  it('matches the documented example', () => {
    const s = sensitivityAllocation([3, 1, 2], [100, 100, 100], 0.5);
    expect(s[0]).toBeCloseTo(0.42, 12);
    expect(s[1]).toBeCloseTo(0.58, 12);
    expect(s[2]).toBeCloseTo(0.5, 12);
  });

  it('hits the parameter-weighted target and orders by sensitivity, clipped or not', () => {
    const sens = [0.9, 0.1, 0.5, 2.0, 0.3, 0.3, 1.2];
    const sizes = [10, 400, 50, 5, 300, 120, 60];
    for (const [target, opts] of [
      [0.5, {}],
      [0.7, { spread: 0.3 }],
      [0.6, { min: 0.5, max: 0.65, spread: 0.2 }],
      [0.2, { spread: 0.4 }],
    ] as const) {
      const s = sensitivityAllocation(sens, sizes, target, opts);
      expect(Math.abs(weightedMean(s, sizes) - target)).toBeLessThan(1e-9);
      for (const v of s) {
        expect(v).toBeGreaterThanOrEqual(('min' in opts ? opts.min : 0) - 1e-15);
        expect(v).toBeLessThanOrEqual(('max' in opts ? opts.max : 1) + 1e-15);
      }
      for (let a = 0; a < sens.length; a++)
        for (let b = 0; b < sens.length; b++)
          if (sens[a]! < sens[b]!) expect(s[a]!).toBeGreaterThanOrEqual(s[b]!);
      // Equal sensitivities, equal sparsity.
      expect(s[4]).toBe(s[5]);
    }
    const s = sensitivityAllocation(sens, sizes, 0.5);
    expect(s[1]!).toBeGreaterThan(s[3]!);
  });

  it('rejects targets outside the band and mismatched lengths', () => {
    expect(() => sensitivityAllocation([1, 2], [1, 1], 0.9, { max: 0.8 })).toThrow(/outside/);
    expect(() => sensitivityAllocation([1, 2], [1], 0.5)).toThrow(/sizes/);
  });
});
