/** Mask zoo: family-specific behaviour (top-k recall, HiP misses, permutation gain, channels, MoA, key-norm eviction, Mustafar). */
import { describe, expect, it } from 'vitest';
import {
  attentionFromQK,
  blockMask,
  blockPermutedMask,
  buildMask,
  calibrateChannels,
  channelMask,
  hipMissRate,
  hipSelect,
  keptElements,
  kvNormEvictKeep,
  moaPlan,
  pruneKvElements,
  rowBudgets,
  topkMask,
} from '../../../analyses/attention/masks';
import { maskDensity, maskRecall } from '../../../analyses/attention/mask-metrics';
import type { LayerQK } from '../../../analyses/attention/types';
import { normal, randomQK, rng, rowKept } from './masks-fixtures';

describe('exact top-k', () => {
  const qk = randomQK(11, 48, 4, 2, 8);
  const pattern = attentionFromQK(qk);
  it('recall is non-decreasing in k and 1 at k ≥ T', () => {
    let prev = -1;
    const perHeadPrev = new Float64Array(4).fill(-1);
    for (let k = 2; k <= 48; k++) {
      const r = maskRecall(topkMask(qk, k), pattern);
      expect(r.overall).toBeGreaterThanOrEqual(prev - 1e-12);
      r.perHead.forEach((v, h) => expect(v).toBeGreaterThanOrEqual(perHeadPrev[h]! - 1e-12));
      prev = r.overall;
      perHeadPrev.set(r.perHead);
    }
    expect(maskRecall(topkMask(qk, 48), pattern).overall).toBeCloseTo(1, 12);
    expect(maskRecall(topkMask(qk, 100), pattern).overall).toBeCloseTo(1, 12);
  });
  it('keeps the highest-probability keys', () => {
    const m = topkMask(qk, 5);
    const T = 48;
    for (const i of [10, 30, 47]) {
      const row = Array.from(pattern.probs.subarray((1 * T + i) * T, (1 * T + i) * T + i)).map((p, j) => ({
        p,
        j,
      }));
      row.sort((a, b) => b.p - a.p);
      const want = [...row.slice(0, 4).map((x) => x.j), i].sort((a, b) => a - b);
      expect(rowKept(m.keep, T, 1, i)).toEqual(want);
    }
  });
});

describe('hip', () => {
  it('hipSelect returns k distinct candidates and the exact top-k on a monotone score', () => {
    const sel = hipSelect(100, 8, (j) => j);
    expect(sel.sort((a, b) => a - b)).toEqual([92, 93, 94, 95, 96, 97, 98, 99]);
    expect(new Set(hipSelect(37, 5, (j) => Math.sin(j))).size).toBe(5);
    expect(hipSelect(3, 5, () => 0)).toEqual([0, 1, 2]);
  });
  it('miss rate is 0 when the budget covers everything and within [0, 1] otherwise', () => {
    const qk = randomQK(12, 64, 2, 1, 8);
    expect(hipMissRate(qk, 1)).toBe(0);
    const rates = [0.05, 0.2, 0.5].map((b) => hipMissRate(qk, b));
    for (const r of rates) {
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(1);
    }
    expect(
      rates.some((r) => r > 0),
      'the first-key proxy misses something on random keys',
    ).toBe(true);
  });
});

/** One head; keys j ≡ 3 (mod 7) point along the query direction, the rest are small noise. */
function scatteredImportant(T: number): LayerQK {
  const d = 8;
  const n = normal(rng(5));
  const q = new Float32Array(T * d);
  const k = new Float32Array(T * d);
  for (let t = 0; t < T; t++) {
    q[t * d] = 3;
    for (let c = 1; c < d; c++) q[t * d + c] = 0.3 * n();
    for (let c = 0; c < d; c++) k[t * d + c] = 0.3 * n();
    if (t % 7 === 3) k[t * d] = 3;
  }
  return { layer: 0, T, nHeads: 1, nKvHeads: 1, headDim: d, q, k };
}

describe('block vs block-permuted', () => {
  it('permuting keys gathers scattered important keys: recall ≥ block at equal density', () => {
    const qk = scatteredImportant(128);
    const pattern = attentionFromQK(qk);
    for (const B of [0.1, 0.2, 0.35]) {
      const plain = blockMask(qk, B, { blockSize: 8 });
      const perm = blockPermutedMask(qk, B, { blockSize: 8, segmentSize: 32 });
      expect(maskDensity(perm).overall).toBe(maskDensity(plain).overall);
      const rPlain = maskRecall(plain, pattern).overall;
      const rPerm = maskRecall(perm, pattern).overall;
      expect(rPerm).toBeGreaterThanOrEqual(rPlain);
    }
    const b = 0.2;
    const gain =
      maskRecall(blockPermutedMask(qk, b, { blockSize: 8, segmentSize: 32 }), pattern).overall -
      maskRecall(blockMask(qk, b, { blockSize: 8 }), pattern).overall;
    expect(gain).toBeGreaterThan(0.05);
  });
  it('rejects a segment that is not a multiple of the block', () => {
    expect(() => blockPermutedMask(randomQK(1, 16, 1, 1, 4), 0.5, { blockSize: 4, segmentSize: 6 })).toThrow(
      /segmentSize/,
    );
  });
});

describe('channel (Double Sparsity)', () => {
  const qk = randomQK(21, 40, 4, 2, 8);
  it('r = headDim equals exact top-k', () => {
    const cal = calibrateChannels([randomQK(22, 30, 4, 2, 8)], 8);
    for (const B of [0.1, 0.4, 0.8])
      expect(channelMask(qk, B, { calibration: cal }).keep).toEqual(topkMask(qk, B).keep);
  });
  it('calibration picks the channels that carry |q_c·k_c|', () => {
    const s = randomQK(23, 30, 2, 1, 8, 0.1);
    for (let t = 0; t < 30; t++) {
      s.q[(t * 2 + 0) * 8 + 5] = 4; // head 0 relies on channel 5 (with k below)
      s.q[(t * 2 + 1) * 8 + 2] = 4; // head 1 on channel 2
      s.k[t * 8 + 5] = 3;
      s.k[t * 8 + 2] = 3;
    }
    const cal = calibrateChannels([s], 1);
    expect([...cal.channels]).toEqual([5, 2]);
    expect(calibrateChannels([s], 3).channels.subarray(0, 3).join()).toMatch(/5/);
  });
  it('fewer channels approximate top-k: recall at most that of exact top-k, well above the density', () => {
    const pattern = attentionFromQK(qk);
    const cal = calibrateChannels([randomQK(22, 30, 4, 2, 8)], 2);
    const r = maskRecall(channelMask(qk, 0.25, { calibration: cal }), pattern).overall;
    expect(r).toBeLessThanOrEqual(maskRecall(topkMask(qk, 0.25), pattern).overall + 1e-12);
    expect(r).toBeGreaterThan(0.25);
  });
});

describe('moa', () => {
  it('meets the global density; a local head saturates early, the rest goes to the broad head', () => {
    // Head 0 attends locally (strong recency), head 1 to keys far back: build the pattern directly.
    const T = 40;
    const qk = randomQK(31, T, 2, 1, 4);
    const probs = new Float32Array(2 * T * T);
    for (let i = 0; i < T; i++) {
      let s0 = 0;
      let s1 = 0;
      for (let j = 0; j <= i; j++) {
        s0 += probs[i * T + j] = Math.exp(-(i - j));
        s1 += probs[(T + i) * T + j] = 1;
      }
      for (let j = 0; j <= i; j++) {
        probs[i * T + j] = probs[i * T + j]! / s0;
        probs[(T + i) * T + j] = probs[(T + i) * T + j]! / s1;
      }
    }
    const pattern = { layer: 0, T, nHeads: 2, probs };
    for (const B of [0.1, 0.3, 0.6, 1]) {
      const plan = moaPlan(qk, B, { pattern });
      expect(plan.kept).toBeLessThanOrEqual(plan.target);
      expect(plan.kept).toBeGreaterThan(plan.target - T);
      const m = buildMask('moa', qk, B, { pattern });
      expect(maskDensity(m).overall * 2 * ((T * (T + 1)) / 2)).toBeCloseTo(plan.kept, 6);
      if (B >= 0.3 && B < 1) {
        expect(plan.windows[0]!).toBeLessThan(plan.windows[1]!);
        expect(maskRecall(m, pattern).perHead[0]!).toBeGreaterThan(0.95);
      }
    }
    expect([...moaPlan(qk, 1, { pattern }).windows]).toEqual([T, T]);
  });
  it('uses only the candidate windows given', () => {
    const qk = randomQK(32, 30, 3, 3, 4);
    const plan = moaPlan(qk, 0.4, { windows: [2, 8, 16, 30] });
    for (const w of plan.windows) expect([2, 8, 16, 30]).toContain(w);
    expect(plan.kept).toBeLessThanOrEqual(plan.target);
  });
});

describe('kv-norm-evict (token eviction)', () => {
  const qk = randomQK(41, 36, 4, 2, 8);
  const norm = (g: number, t: number) => Math.hypot(...qk.k.subarray((t * 2 + g) * 8, (t * 2 + g) * 8 + 8));
  it('keeps the largest-|k| earlier keys (L2 per token and KV head) plus the diagonal', () => {
    const m = buildMask('kv-norm-evict', qk, 6);
    for (let h = 0; h < 4; h++) {
      const g = Math.floor(h / 2);
      for (const i of [5, 20, 35]) {
        const earlier = Array.from({ length: i }, (_, j) => j).sort((a, b) => norm(g, b) - norm(g, a));
        expect(rowKept(m.keep, 36, h, i)).toEqual([...earlier.slice(0, 5), i].sort((a, b) => a - b));
      }
    }
  });
  it('exposes separate K and V keep sets', () => {
    const v = randomQK(42, 36, 2, 2, 8).k;
    const sets = kvNormEvictKeep(qk, 0.25, { v });
    const m = rowBudgets(36, 0.25, true)[35]!;
    for (let g = 0; g < 2; g++) {
      expect(sets.k.subarray(g * 36, (g + 1) * 36).reduce((a, b) => a + b, 0)).toBe(m);
      expect(sets.v!.subarray(g * 36, (g + 1) * 36).reduce((a, b) => a + b, 0)).toBe(m);
    }
    expect(sets.k).not.toEqual(sets.v);
    expect(kvNormEvictKeep(qk, 0.25).v).toBeNull();
  });
});

describe('mustafar (K/V element pruning)', () => {
  /** Naive reference: for each vector, the indices of its `keep` largest |x| (lower index on ties). */
  function naivePrune(x: Float32Array, d: number, keep: number): Float32Array {
    const out = new Float32Array(x.length);
    for (let o = 0; o < x.length; o += d) {
      const chosen: number[] = [];
      for (let r = 0; r < keep; r++) {
        let best = -1;
        for (let c = 0; c < d; c++) {
          if (chosen.includes(c)) continue;
          if (best < 0 || Math.abs(x[o + c]!) > Math.abs(x[o + best]!)) best = c;
        }
        chosen.push(best);
      }
      for (const c of chosen) out[o + c] = x[o + c]!;
    }
    return out;
  }

  it('keeps each token vector’s largest-magnitude elements, per KV head, as a naive loop does', () => {
    const qk = randomQK(51, 20, 4, 2, 16);
    for (const keep of [1, 5, 8, 16]) {
      const pruned = pruneKvElements(qk.k, 16, keep);
      expect(pruned).toEqual(naivePrune(qk.k, 16, keep));
      // Exactly `keep` non-zeros in every [16] vector (random values: no zeros to begin with).
      for (let o = 0; o < pruned.length; o += 16) {
        expect(pruned.subarray(o, o + 16).reduce((a, v) => a + (v !== 0 ? 1 : 0), 0)).toBe(keep);
      }
    }
    expect(pruneKvElements(Float32Array.of(0.1, -3, 2, 0.5), 4, 2)).toEqual(Float32Array.of(0, -3, 2, 0));
  });

  it('ranks K and V vectors on their own magnitudes (an outlier channel in K does not decide V)', () => {
    // K: channel 0 is an outlier in every token; V: uniform magnitudes with varying winners.
    const d = 4;
    const k = Float32Array.from({ length: 3 * d }, (_, i) => (i % d === 0 ? 10 : 0.1 * (i % d)));
    const v = Float32Array.of(0.1, 0.9, 0.2, 0.3, 0.8, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.7);
    expect([...pruneKvElements(k, d, 1)].map((x, i) => (x ? i % d : -1)).filter((c) => c >= 0)).toEqual([
      0, 0, 0,
    ]);
    expect([...pruneKvElements(v, d, 1)].map((x, i) => (x ? i % d : -1)).filter((c) => c >= 0)).toEqual([
      1, 0, 3,
    ]);
  });

  it('the budget is a share of elements kept; the attention mask keeps every causal entry', () => {
    expect(keptElements(0.3, 64)).toBe(19);
    expect(keptElements(0.001, 64)).toBe(1);
    expect(keptElements(1, 64)).toBe(64);
    expect(() => keptElements(4, 64)).toThrow(/share of K and V elements kept per token, in \(0, 1\]/);
    const qk = randomQK(52, 12, 2, 1, 8);
    expect(maskDensity(buildMask('mustafar', qk, 0.25)).overall).toBe(1);
  });
});
