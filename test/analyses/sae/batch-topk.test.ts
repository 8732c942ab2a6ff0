/**
 * BatchTopK: the batch-wide selection against a hand case and a plain sort, the threshold
 * estimator on a known stream, and the JumpReLU conversion used for inference and export.
 */
import { describe, expect, it } from 'vitest';
import {
  BatchTopKThreshold,
  batchTopK,
  batchTopKToJumpRelu,
  smallestActive,
  thresholdLrFor,
} from '../../../analyses/sae/batch-topk';
import { encode } from '../../../analyses/sae/forward';
import { initSaeParams } from '../../../analyses/sae/init';
import { mulberry32 } from '../../../analyses/sae/prng';
import type { SaeConfig } from '../../../analyses/sae/types';

/** Plain reference: sort every positive entry by value (desc), then flat index (asc), keep k·n. */
function naive(pre: Float32Array, n: number, k: number): Float32Array {
  const order = Array.from(pre.keys())
    .filter((t) => pre[t]! > 0)
    .sort((a, b) => pre[b]! - pre[a]! || a - b)
    .slice(0, k * n);
  const out = new Float32Array(pre.length);
  for (const t of order) out[t] = pre[t]!;
  return out;
}

const nonZeros = (a: Float32Array, from: number, to: number) =>
  a.subarray(from, to).filter((v) => v !== 0).length;

describe('batchTopK selection', () => {
  it('keeps the k·n largest of the batch: rows get more or fewer than k', () => {
    // 3 rows × 4 latents, k = 2 → 6 kept: row 0 has 4 large values, row 2 has none positive.
    const pre = Float32Array.of(9, 8, 7, 6, 5, 0.5, 4, -1, -2, -3, 0, -4);
    const out = new Float32Array(12);
    const min = batchTopK(pre, 3, 4, 2, out);
    expect(Array.from(out)).toEqual([9, 8, 7, 6, 5, 0, 4, 0, 0, 0, 0, 0]);
    expect(min).toBe(4);
    expect([nonZeros(out, 0, 4), nonZeros(out, 4, 8), nonZeros(out, 8, 12)]).toEqual([4, 2, 0]);
    expect(nonZeros(out, 0, 12)).toBe(6);
  });

  it('ties at the boundary go to the lower flat index, so exactly k·n are kept', () => {
    // k·n = 4; value 2 appears four times and only two of them fit, the first two in row-major order.
    const pre = Float32Array.of(3, 2, 1, 2, 3, 2, 2, 0);
    const out = new Float32Array(8);
    expect(batchTopK(pre, 2, 4, 2, out)).toBe(2);
    expect(Array.from(out)).toEqual([3, 2, 0, 2, 3, 0, 0, 0]);
  });

  it('keeps every positive entry when fewer than k·n are positive (zeros are never kept)', () => {
    const pre = Float32Array.of(-1, 0.25, 0, -3, 0, 0);
    const out = new Float32Array(6).fill(7);
    expect(batchTopK(pre, 2, 3, 2, out)).toBe(0.25);
    expect(Array.from(out)).toEqual([0, 0.25, 0, 0, 0, 0]);
    expect(batchTopK(new Float32Array(6).fill(-1), 2, 3, 2, out)).toBe(0);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('matches the plain sort on random batches with many ties', () => {
    const rng = mulberry32(5);
    for (const [n, dSae, k] of [
      [1, 16, 3],
      [7, 12, 2],
      [33, 40, 5],
      [64, 96, 12],
    ] as const) {
      // Values on a coarse grid so the boundary is often tied.
      const pre = Float32Array.from({ length: n * dSae }, () => Math.round(rng.normal() * 4) / 4);
      const out = new Float32Array(n * dSae);
      const min = batchTopK(pre, n, dSae, k, out);
      const want = naive(pre, n, k);
      expect(out).toEqual(want);
      expect(min).toBe(smallestActive(want));
      const positive = pre.filter((v) => v > 0).length;
      expect(nonZeros(out, 0, n * dSae)).toBe(Math.min(k * n, positive));
    }
  });

  it('refuses bad input with a clear error', () => {
    const out = new Float32Array(4);
    expect(() => batchTopK(new Float32Array(3), 2, 2, 1, out)).toThrow(/must hold 2×2 values/);
    expect(() => batchTopK(new Float32Array(4), 2, 2, 3, out)).toThrow(/invalid k 3/);
    expect(() => batchTopK(Float32Array.of(1, NaN, 0, 0), 2, 2, 1, out)).toThrow(/pre-activation 1 is NaN/);
  });

  it('is what forward() applies for the batchtopk kind (mean L0 = k)', () => {
    const cfg: SaeConfig = {
      kind: 'batchtopk',
      dIn: 8,
      dSae: 32,
      k: 4,
      hookName: 'h',
      normalizeDecoder: true,
    };
    const params = initSaeParams(cfg, 3);
    const rng = mulberry32(9);
    const x = Float32Array.from({ length: 20 * 8 }, () => rng.normal());
    const { pre, latents } = encode(params, cfg, x);
    const want = naive(
      Float32Array.from(pre, (v) => Math.max(0, v)),
      20,
      4,
    );
    expect(latents).toEqual(want);
    expect(nonZeros(latents, 0, latents.length)).toBe(80);
    const perRow = Array.from({ length: 20 }, (_, i) => nonZeros(latents, i * 32, (i + 1) * 32));
    expect(new Set(perRow).size).toBeGreaterThan(1);
  });
});

describe('BatchTopKThreshold', () => {
  it('starts at the first batch minimum, then θ ← (1 − lr)·θ + lr·m; 0 (nothing kept) is skipped', () => {
    const est = new BatchTopKThreshold(0.1);
    expect(est.value).toBeUndefined();
    est.update(0);
    expect(est.value).toBeUndefined();
    est.update(2);
    expect(est.value).toBe(2);
    est.update(1); // 0.9·2 + 0.1·1
    expect(est.value).toBeCloseTo(1.9, 12);
    est.update(0);
    expect(est.value).toBeCloseTo(1.9, 12);
    est.update(4); // 0.9·1.9 + 0.1·4
    expect(est.value).toBeCloseTo(2.11, 12);
  });

  it('converges to the stream mean of a stationary stream (default lr 0.01)', () => {
    const est = new BatchTopKThreshold();
    const rng = mulberry32(1);
    for (let t = 0; t < 5000; t++) est.update(0.5 + 0.1 * rng.uniform()); // mean 0.55
    expect(est.value!).toBeCloseTo(0.55, 2);
  });

  it('trainSae’s rate: SAELens’s 0.01 for long runs, a tenth of the run for short ones', () => {
    expect(thresholdLrFor(5000)).toBe(0.01);
    expect(thresholdLrFor(1000)).toBe(0.01);
    expect(thresholdLrFor(200)).toBe(0.05);
    expect(thresholdLrFor(5)).toBe(1);
  });

  it('refuses a non-finite or negative minimum and a bad lr', () => {
    const est = new BatchTopKThreshold();
    expect(() => est.update(NaN)).toThrow(/smallest kept activation is NaN/);
    expect(() => est.update(-1)).toThrow(/is -1/);
    expect(() => new BatchTopKThreshold(0)).toThrow(/lr must be in \(0, 1\]/);
  });
});

describe('batchTopKToJumpRelu', () => {
  const cfg: SaeConfig = { kind: 'batchtopk', dIn: 8, dSae: 32, k: 4, hookName: 'h', normalizeDecoder: true };

  it('gives a JumpReLU whose every latent has threshold θ: f = pre·[pre > θ] per token', () => {
    const params = initSaeParams(cfg, 3);
    const theta = 0.05;
    const sae = batchTopKToJumpRelu(cfg, params, theta);
    expect(sae.cfg.kind).toBe('jumprelu');
    expect(sae.params.wEnc).toBe(params.wEnc);
    const rng = mulberry32(2);
    const x = Float32Array.from({ length: 10 * 8 }, () => rng.normal());
    const { pre, latents } = encode(sae.params, sae.cfg, x);
    let active = 0;
    for (let t = 0; t < pre.length; t++) {
      // θ goes through log/exp in float32, so only values within 1e-6 of θ could disagree.
      if (Math.abs(pre[t]! - theta) < 1e-6) continue;
      expect(latents[t]).toBe(pre[t]! > theta ? pre[t] : 0);
      if (latents[t] !== 0) active++;
    }
    expect(active).toBeGreaterThan(0);
  });

  it('refuses a missing threshold and another kind', () => {
    const params = initSaeParams(cfg, 3);
    expect(() => batchTopKToJumpRelu(cfg, params, undefined)).toThrow(/no usable threshold/);
    expect(() => batchTopKToJumpRelu({ ...cfg, kind: 'topk' }, params, 1)).toThrow(/is topk, not batchtopk/);
  });
});
