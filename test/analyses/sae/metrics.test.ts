/** Metrics, initialisation and the forward pass's activations on hand-checkable inputs. */
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../../analyses/sae/forward';
import { initDecoderBias, initSaeParams } from '../../../analyses/sae/init';
import {
  densityHistogram,
  explainedVariance,
  l0,
  lossRecovered,
  mse,
  SaeEvalAccumulator,
} from '../../../analyses/sae/metrics';
import { resolveConfig, type SaeConfig, type SaeParams } from '../../../analyses/sae/types';
import { normalBatch } from './sae-fixtures';

describe('metrics', () => {
  const x = Float32Array.of(1, 2, 3, 4, 5, 6); // 3 rows of 2
  it('MSE sums over d_in and averages over rows', () => {
    expect(mse(x, Float32Array.of(1, 2, 3, 4, 5, 8), 2)).toBeCloseTo(4 / 3, 6);
  });

  it('explained variance: 1 for a perfect reconstruction, 0 for the mean row', () => {
    expect(explainedVariance(x, x, 2)).toBe(1);
    expect(explainedVariance(x, Float32Array.of(3, 4, 3, 4, 3, 4), 2)).toBeCloseTo(0, 6);
    // Σ‖x − x̄‖² = 16; one error of 2 → 1 − 4/16.
    expect(explainedVariance(x, Float32Array.of(1, 2, 3, 4, 5, 8), 2)).toBeCloseTo(0.75, 6);
  });

  it('L0 and loss recovered', () => {
    expect(l0(Float32Array.of(0, 1, 2, 0, 0, 3), 3)).toBe(1.5);
    expect(lossRecovered(2, 2.5, 7)).toBeCloseTo(0.9, 10);
    expect(lossRecovered(2, 2, 2)).toBeNaN();
  });

  it('the streaming accumulator equals one pass over all rows', () => {
    const data = normalBatch(300, 8, 1, 2);
    for (let t = 0; t < data.length; t += 8) data[t]! += 100; // a large mean in one dimension
    const xHat = data.map((v, t) => v + 0.1 * Math.sin(t));
    const latents = Float32Array.from({ length: 300 * 4 }, (_, t) =>
      t % 4 === 0 || (t % 4 === 1 && t < 40) ? 1 : 0,
    );
    const whole = new SaeEvalAccumulator(8, 4);
    whole.add(data, xHat, latents);
    const parts = new SaeEvalAccumulator(8, 4);
    for (const [a, b] of [
      [0, 17],
      [17, 200],
      [200, 300],
    ] as const) {
      parts.add(data.subarray(a * 8, b * 8), xHat.subarray(a * 8, b * 8), latents.subarray(a * 4, b * 4));
    }
    const r1 = whole.result();
    const r2 = parts.result();
    expect(r2.explainedVariance).toBeCloseTo(r1.explainedVariance, 10);
    expect(r2.mse).toBeCloseTo(r1.mse, 10);
    expect(r2.l0).toBeCloseTo(1 + 10 / 300, 10);
    expect(Array.from(r2.firingFrequency)).toEqual([1, 10 / 300, 0, 0]);
    expect(r2.deadFraction).toBe(0.5);
    expect(r2.denseFraction).toBe(0.25); // only latent 0 fires on > 10 % of rows
    expect(r2.densityHistogram.dead).toBe(2);
    expect(r2.densityHistogram.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('density histogram bins log10 frequency', () => {
    const h = densityHistogram(Float64Array.of(1, 0.01, 0.011, 0, 1e-4), { min: -4, binWidth: 1 });
    expect(Array.from(h.edges)).toEqual([-4, -3, -2, -1, 0]);
    expect(Array.from(h.counts)).toEqual([1, 0, 2, 1]);
    expect(h.dead).toBe(1);
  });
});

describe('initialisation', () => {
  const cfg: SaeConfig = { kind: 'jumprelu', dIn: 6, dSae: 10, hookName: 'h', normalizeDecoder: true };
  it('unit-norm decoder rows, W_enc = W_decᵀ, zero b_enc, θ at initialThreshold', () => {
    const p = initSaeParams(cfg, 3);
    for (let j = 0; j < 10; j++) {
      expect(Math.hypot(...p.wDec.subarray(j * 6, j * 6 + 6))).toBeCloseTo(1, 6);
      for (let d = 0; d < 6; d++) expect(p.wEnc[d * 10 + j]).toBe(p.wDec[j * 6 + d]);
    }
    expect(p.bEnc.every((v) => v === 0)).toBe(true);
    expect(p.logThreshold![0]).toBeCloseTo(Math.log(0.001), 6);
    expect(initSaeParams(cfg, 3).wDec).toEqual(p.wDec);
    expect(initSaeParams(cfg, 4).wDec).not.toEqual(p.wDec);
  });

  it('geometric median resists an outlier the mean follows', () => {
    // Four points around (1, 1) and one far away.
    const data = Float32Array.of(0, 1, 2, 1, 1, 0, 1, 2, 100, 100);
    const mean = initDecoderBias(data, 2, 'mean');
    expect(mean[0]).toBeCloseTo(20.8, 5);
    const med = initDecoderBias(data, 2, 'geometric-median');
    // At the geometric median the unit vectors towards the points sum to zero.
    const pull = [0, 0];
    for (let i = 0; i < 5; i++) {
      const dx = data[2 * i]! - med[0]!;
      const dy = data[2 * i + 1]! - med[1]!;
      const r = Math.hypot(dx, dy);
      pull[0]! += dx / r;
      pull[1]! += dy / r;
    }
    expect(Math.hypot(pull[0]!, pull[1]!)).toBeLessThan(1e-3);
    expect(med[0]).toBeGreaterThan(1.2);
    expect(med[0]).toBeLessThan(1.4);
    // 1-D: the geometric median is the ordinary median.
    expect(initDecoderBias(Float32Array.of(0, 1, 2, 3, 100), 1, 'geometric-median')[0]).toBeCloseTo(2, 3);
  });

  it('rejects bad configs loudly', () => {
    expect(() => resolveConfig({ ...cfg, kind: 'gated' as never })).toThrow('invalid SAE kind: gated');
    expect(() => resolveConfig({ ...cfg, kind: 'topk' })).toThrow('a TopK SAE needs k');
    expect(() => resolveConfig({ ...cfg, kind: 'topk', k: 11 })).toThrow(
      'invalid SAE k: 11 is more than dSae 10',
    );
    expect(() => resolveConfig({ ...cfg, dIn: 0 })).toThrow('invalid SAE dIn: 0');
  });
});

describe('forward activations', () => {
  // Identity-like encoder on 3 dims → 3 latents so pre = x − b_dec + b_enc is readable.
  const eye = Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  const params: SaeParams = {
    wEnc: eye,
    bEnc: new Float32Array(3),
    wDec: eye.slice(),
    bDec: Float32Array.of(0.5, 0, 0),
  };
  const x = Float32Array.of(1.5, -2, 3, 0.5, 0.7, 0.2);

  it('relu, topk (TopK of pre, then ReLU) and jumprelu', () => {
    const base = { dIn: 3, dSae: 3 };
    expect(Array.from(encode(params, { ...base, kind: 'relu' }, x).latents)).toEqual(
      [1, 0, 3, 0, 0.7, 0.2].map(Math.fround),
    );
    // Row 1's two largest pre-activations are 3 and 1; row 2's are 0.7 and 0.2.
    expect(Array.from(encode(params, { ...base, kind: 'topk', k: 2 }, x).latents)).toEqual(
      [1, 0, 3, 0, 0.7, 0.2].map(Math.fround),
    );
    expect(Array.from(encode(params, { ...base, kind: 'topk', k: 1 }, x).latents)).toEqual(
      [0, 0, 3, 0, 0.7, 0].map(Math.fround),
    );
    // Negative pre-activations that make the top k are zeroed by the ReLU after selection.
    const neg = Float32Array.of(0.5, -1, -2);
    expect(Array.from(encode(params, { ...base, kind: 'topk', k: 2 }, neg).latents)).toEqual([0, 0, 0]);
    const jr = { ...params, logThreshold: Float32Array.of(Math.log(2), Math.log(0.1), Math.log(0.5)) };
    expect(Array.from(encode(jr, { ...base, kind: 'jumprelu' }, x).latents)).toEqual(
      [0, 0, 3, 0, 0.7, 0].map(Math.fround),
    );
  });

  it('decode adds b_dec and skips zeros', () => {
    expect(Array.from(decode(params, { dIn: 3, dSae: 3 }, Float32Array.of(0, 2, 0)))).toEqual([0.5, 2, 0]);
  });
});
