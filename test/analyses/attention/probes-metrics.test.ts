import { describe, expect, it } from 'vitest';
import {
  bucketCount,
  bucketRange,
  distanceBucket,
  lineScores,
  rowMetrics,
  uniformLineShare,
} from '../../../analyses/attention/probes';
import { attendTo, previousToken, uniform } from './probes-synthetic';

describe('per-row probe metrics, hand-computed', () => {
  it('uniform over n: entropy log n, coverage k/n, k90 = ceil(0.9 n), distance (n − 1)/2', () => {
    const n = 10;
    const r = rowMetrics(Array<number>(n).fill(0.1), { ks: [1, 2, 4, 8, 16] });
    expect(r.entropy).toBeCloseTo(Math.log(n), 6);
    expect(Array.from(r.coverage)).toEqual([0.1, 0.2, 0.4, 0.8, 1].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(r.kFor)).toEqual([9, 10, 10]);
    expect(r.sinkMass).toBeCloseTo(0.1, 6);
    expect(r.meanDistance).toBeCloseTo(4.5, 5);
    expect(rowMetrics(Array<number>(n).fill(0.1), { nSink: 4 }).sinkMass).toBeCloseTo(0.4, 6);
  });

  it('a known distribution: k90 = k95 = 3, k99 = 4, distance 0.75, locality by bucket', () => {
    const p = [0.05, 0.15, 0.3, 0.5]; // query i = 3
    const r = rowMetrics(p, { ks: [1, 2, 4] });
    expect(r.entropy).toBeCloseTo(-p.reduce((s, x) => s + x * Math.log(x), 0), 6);
    expect(Array.from(r.coverage)).toEqual([0.5, 0.8, 1].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(r.kFor)).toEqual([3, 3, 4]);
    expect(r.sinkMass).toBeCloseTo(0.05, 6);
    expect(r.meanDistance).toBeCloseTo(0.75, 6);
    // buckets: d = 0 → 0.5, d = 1 → 0.3, d = 2–3 → 0.15 + 0.05
    expect(Array.from(r.locality)).toEqual([0.5, 0.3, 0.2].map((x) => expect.closeTo(x, 6)));
  });

  it('a one-hot row: entropy 0, every k is 1, all coverage 1', () => {
    const r = rowMetrics([0, 0, 1, 0, 0], { ks: [1, 64] });
    expect(r.entropy).toBe(0);
    expect(Array.from(r.kFor)).toEqual([1, 1, 1]);
    expect(Array.from(r.coverage)).toEqual([1, 1]);
    expect(r.meanDistance).toBe(2);
  });

  it('masses are relative to the row sum (float32 rows that sum to 1 ± ε)', () => {
    const r = rowMetrics([0.2, 0.2, 0.2, 0.2, 0.2 * (1 + 1e-6)], { ks: [8] });
    expect(r.coverage[0]).toBe(1);
    expect(() => rowMetrics([0, 0])).toThrow(/no attention mass/);
  });

  it('distance buckets: 0, 1, 2–3, 4–7, … powers of two', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 15, 16, 511].map(distanceBucket)).toEqual([0, 1, 2, 2, 3, 3, 4, 4, 5, 9]);
    expect(bucketCount(512)).toBe(10);
    expect(bucketCount(1)).toBe(1);
    expect(bucketRange(0)).toEqual([0, 0]);
    expect(bucketRange(3)).toEqual([4, 7]);
  });
});

describe('vertical and slash scores on synthetic heads', () => {
  const T = 64;
  it('previous-token attention is all slash, not vertical', () => {
    const s = lineScores(previousToken(T), T, 8);
    expect(s.slash).toBeCloseTo(1, 6);
    expect(s.vertical).toBe(0);
  });

  it('attending to token 3 is all vertical, not slash', () => {
    const s = lineScores(attendTo(T, 3), T, 8);
    expect(s.vertical).toBeCloseTo(1, 6);
    expect(s.slash).toBeLessThan(0.05);
  });

  it('a sink head (everything on token 0) is vertical', () => {
    expect(lineScores(attendTo(T, 0), T, 8).vertical).toBeCloseTo(1, 6);
  });

  it('uniform causal attention is neither (both 0 by construction of the baseline)', () => {
    const s = lineScores(uniform(T), T, 8);
    expect(s.vertical).toBeCloseTo(0, 5);
    expect(s.slash).toBeCloseTo(0, 5);
    expect(s.verticalShare).toBeCloseTo(uniformLineShare(T, 8), 5);
  });

  it('a half previous-token, half uniform head scores in between', () => {
    const prev = previousToken(T);
    const uni = uniform(T);
    const mix = prev.map((x, k) => 0.5 * x + 0.5 * uni[k]!);
    const s = lineScores(mix, T, 8);
    expect(s.slash).toBeGreaterThan(0.3);
    expect(s.slash).toBeLessThan(0.7);
    expect(s.vertical).toBeLessThan(0.1);
  });

  it('c ≥ T carries no information: scores 0', () => {
    expect(lineScores(previousToken(4), 4, 8)).toMatchObject({ vertical: 0, slash: 0 });
  });
});
