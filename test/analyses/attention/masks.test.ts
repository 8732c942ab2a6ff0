/**
 * Mask zoo: the budget rule and dense limits for every family, on seeded random q/k (GQA included).
 * Rule: row i keeps n_i = max(1, round(B·(i + 1))) keys for a share B, min(K, i + 1) for K > 1 keys,
 * diagonal included, so |kept_i − B·(i + 1)| ≤ 1 per row; MoA meets it globally (target − T < kept ≤ target).
 */
import { describe, expect, it } from 'vitest';
import {
  MASK_FAMILIES,
  buildMask,
  calibrateChannels,
  causalEntries,
  maskFamily,
  rowBudgets,
  type MaskOptions,
} from '../../../analyses/attention/masks';
import { maskDensity } from '../../../analyses/attention/mask-metrics';
import type { LayerQK } from '../../../analyses/attention/types';
import { randomQK, rowKept } from './masks-fixtures';

const SHAPES = [
  { T: 1, nHeads: 1, nKvHeads: 1, headDim: 4 },
  { T: 17, nHeads: 2, nKvHeads: 1, headDim: 8 },
  { T: 40, nHeads: 4, nKvHeads: 2, headDim: 8 },
  { T: 64, nHeads: 2, nKvHeads: 2, headDim: 16 },
];

function optionsFor(qk: LayerQK): MaskOptions {
  const heldOut = randomQK(999, qk.T + 5, qk.nHeads, qk.nKvHeads, qk.headDim);
  return {
    calibration: calibrateChannels([heldOut], Math.max(1, qk.headDim / 4)),
    blockSize: 4,
    chunkSize: 4,
    sinks: 2,
  };
}

describe('mask zoo: registry', () => {
  it('lists the ten families with fixed ids and throws on unknown ones', () => {
    expect(MASK_FAMILIES.map((f) => f.id)).toEqual([
      'window-sink',
      'topk',
      'hip',
      'block',
      'block-permuted',
      'chunk',
      'channel',
      'moa',
      'kv-norm-evict',
      'mustafar',
    ]);
    expect(MASK_FAMILIES.filter((f) => f.oracle).map((f) => f.id)).toEqual(['topk', 'block-permuted', 'moa']);
    expect(MASK_FAMILIES.filter((f) => f.prunes === 'kv-elements').map((f) => f.id)).toEqual(['mustafar']);
    expect(MASK_FAMILIES.filter((f) => f.budget === 'share-or-keys').map((f) => f.id)).toEqual([
      'window-sink',
      'topk',
      'kv-norm-evict',
    ]);
    expect(() => maskFamily('dense')).toThrow(/unknown mask family "dense"/);
    expect(() => buildMask('hip', randomQK(1, 8, 1, 1, 4), 3)).toThrow(/share of causal entries/);
    expect(() => buildMask('topk', randomQK(1, 8, 1, 1, 4), 2.5)).toThrow(/whole number/);
    expect(() => buildMask('topk', randomQK(1, 8, 1, 1, 4), 0)).toThrow(/budget/);
    expect(() => buildMask('channel', randomQK(1, 8, 1, 1, 4), 0.5)).toThrow(/calibration/);
  });

  it('rowBudgets follows the stated rule', () => {
    expect([...rowBudgets(4, 0.5, true)]).toEqual([1, 1, 2, 2]);
    expect([...rowBudgets(5, 3, true)]).toEqual([1, 2, 3, 3, 3]);
    expect([...rowBudgets(3, 1, false)]).toEqual([1, 2, 3]);
  });
});

describe('mask zoo: density meets the budget', () => {
  for (const shape of SHAPES) {
    const qk = randomQK(shape.T * 31 + shape.nHeads, shape.T, shape.nHeads, shape.nKvHeads, shape.headDim);
    const opts = optionsFor(qk);
    // Mustafar's budget is a share of K and V elements: its mask keeps every entry (mustafar tests).
    for (const fam of MASK_FAMILIES.filter((f) => f.prunes === 'entries')) {
      it(`${fam.id} T=${shape.T} H=${shape.nHeads}/${shape.nKvHeads}`, () => {
        const budgets = fam.budget === 'share-or-keys' ? [0.1, 0.3, 0.55, 0.9, 3, 9] : [0.1, 0.3, 0.55, 0.9];
        for (const B of budgets) {
          const m = buildMask(fam.id, qk, B, opts);
          const { T, nHeads, keep } = m;
          expect(keep.length).toBe(nHeads * T * T);
          let total = 0;
          for (let h = 0; h < nHeads; h++) {
            for (let i = 0; i < T; i++) {
              const row = rowKept(keep, T, h, i);
              expect(
                row.every((j) => j <= i),
                'nothing above the diagonal',
              ).toBe(true);
              expect(row.includes(i), 'diagonal always kept').toBe(true);
              const want = B > 1 ? Math.min(B, i + 1) : B * (i + 1);
              if (fam.densityRule === 'per-row') expect(Math.abs(row.length - want)).toBeLessThanOrEqual(1);
              total += row.length;
            }
          }
          const target = nHeads * rowBudgets(T, B, true).reduce((a, b) => a + b, 0);
          if (fam.densityRule === 'per-row') expect(total).toBe(target);
          else {
            expect(total).toBeLessThanOrEqual(target);
            expect(total).toBeGreaterThan(target - T);
          }
          expect(Math.abs(maskDensity(m).overall * nHeads * causalEntries(T) - total)).toBeLessThan(1e-6);
        }
      });
    }
  }
});

describe('mask zoo: density 1 is dense', () => {
  const qk = randomQK(7, 33, 4, 2, 8);
  const opts = optionsFor(qk);
  for (const fam of MASK_FAMILIES) {
    it(`${fam.id} keeps every causal entry`, () => {
      const m = buildMask(fam.id, qk, 1, opts);
      const d = maskDensity(m);
      expect(d.overall).toBe(1);
      expect([...d.perHead]).toEqual([1, 1, 1, 1]);
    });
  }
  it('an absolute budget of T keys is dense too', () => {
    for (const id of ['topk', 'window-sink', 'kv-norm-evict']) {
      expect(maskDensity(buildMask(id, qk, 33)).overall).toBe(1);
    }
  });
});

describe('window-sink', () => {
  it('keeps exactly the expected entries on a hand example (T=6, 1 sink, 3 keys)', () => {
    const qk = randomQK(3, 6, 2, 1, 4);
    const m = buildMask('window-sink', qk, 3, { sinks: 1 });
    const want = [[0], [0, 1], [0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 5]];
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < 6; i++) expect(rowKept(m.keep, 6, h, i)).toEqual(want[i]);
    }
    // 4 sinks by default; with 2 keys per row, one sink + self.
    const m2 = buildMask('window-sink', qk, 2);
    expect(rowKept(m2.keep, 6, 0, 5)).toEqual([0, 5]);
  });
});
