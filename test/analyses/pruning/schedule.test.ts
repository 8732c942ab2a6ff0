/** Zhu & Gupta's cubic schedule: endpoints, clamping, staircase and monotonicity. */
import { describe, expect, it } from 'vitest';
import { gradualSchedule, gradualSparsity } from '../../../analyses/pruning/schedule';

const opts = { initial: 0.1, final: 0.9, startStep: 100, steps: 10, frequency: 20 };

describe('gradual schedule', () => {
  it('starts at s_i, ends at s_f and clamps outside [t0, t0 + nΔt]', () => {
    expect(gradualSparsity(0, opts)).toBe(0.1);
    expect(gradualSparsity(100, opts)).toBe(0.1);
    expect(gradualSparsity(300, opts)).toBeCloseTo(0.9, 12);
    expect(gradualSparsity(10_000, opts)).toBeCloseTo(0.9, 12);
  });

  it('follows the cubic at pruning steps and holds in between', () => {
    // t = t0 + 5Δt: s_f + (s_i − s_f)·0.5³
    expect(gradualSparsity(200, opts)).toBeCloseTo(0.9 - 0.8 / 8, 12);
    expect(gradualSparsity(219, opts)).toBe(gradualSparsity(200, opts));
  });

  it('gives a monotone trajectory with flat ends', () => {
    const { steps, sparsity } = gradualSchedule({ ...opts, from: 0, to: 400 });
    expect(steps[0]).toBe(0);
    expect(steps.at(-1)).toBe(400);
    expect(steps.length).toBe(sparsity.length);
    expect(steps.length).toBe(11 + 2);
    expect(sparsity[0]).toBe(0.1);
    expect(sparsity.at(-1)).toBeCloseTo(0.9, 12);
    for (let i = 1; i < steps.length; i++) {
      expect(steps[i]!).toBeGreaterThan(steps[i - 1]!);
      expect(sparsity[i]!).toBeGreaterThanOrEqual(sparsity[i - 1]!);
    }
    // Steps between pruning events shrink: the cubic front-loads pruning.
    const inc = sparsity.slice(2, -1).map((s, i) => s - sparsity[i + 1]!);
    for (let i = 1; i < inc.length; i++) expect(inc[i]!).toBeLessThan(inc[i - 1]!);
  });

  it('rejects invalid options', () => {
    expect(() => gradualSparsity(0, { final: 1.2, steps: 3 })).toThrow(/final/);
    expect(() => gradualSparsity(0, { final: 0.5, steps: 0 })).toThrow(/steps/);
    expect(() => gradualSparsity(0, { final: 0.5, steps: 3, frequency: 0 })).toThrow(/frequency/);
  });
});
