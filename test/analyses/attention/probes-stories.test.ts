/**
 * Probes of the real stories260K model over the first 20 stories of the shared TinyStories text
 * (13 windows of up to 512 tokens). Prints the per-head numbers for the issue note.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HEAD_PROBE_COLUMNS,
  MASS_THRESHOLDS,
  probeAttention,
  type ProbeResult,
} from '../../../analyses/attention/probes';
import { sharedPath, TINYSTORIES_VALID } from '../../helpers/shared-paths';
import { loadStories260K } from '../../helpers/stories260k';

const STORIES = 20;
let r: ProbeResult;

beforeAll(async () => {
  const { model, tokenizer } = loadStories260K();
  const text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8').split('<|endoftext|>');
  r = await probeAttention(model, tokenizer, text.slice(0, STORIES).join('<|endoftext|>'));
  model.dispose();
  for (const h of r.summary.heads) {
    console.log(
      `L${h.layer}H${h.head} entropy ${h.entropy.toFixed(3)} norm ${h.normalizedEntropy.toFixed(2)} sink ${h.sinkMass.toFixed(4)} distance ${h.meanDistance.toFixed(2)} k90 ${h.k90.toFixed(1)} k99 ${h.k99.toFixed(1)} vertical ${h.vertical.toFixed(2)} slash ${h.slash.toFixed(2)}`,
    );
  }
}, 120_000);

describe('stories260K probes over 20 TinyStories', () => {
  it('has one head row per layer × head and one position row per (layer, head, position)', () => {
    expect(r.summary.windows).toBe(13);
    expect(r.heads.numRows).toBe(5 * 8);
    expect(r.positions.numRows).toBe(5 * 8 * 512);
    expect(r.summary.tokens).toBe(r.heads.getChild('rows')!.get(0));
  });

  it('keeps masses in [0, 1], coverage non-decreasing in k, k90 ≤ k95 ≤ k99, locality summing to 1', () => {
    for (const h of r.summary.heads) {
      for (const x of [h.sinkMass, h.normalizedEntropy, h.vertical, h.slash, ...h.coverage]) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(1 + 1e-9);
      }
      h.coverage.slice(1).forEach((c, k) => expect(c).toBeGreaterThanOrEqual(h.coverage[k]! - 1e-12));
      expect(h.k90).toBeLessThanOrEqual(h.k95);
      expect(h.k95).toBeLessThanOrEqual(h.k99);
      expect(h.k90).toBeGreaterThanOrEqual(1);
      expect(h.locality.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(h.entropy).toBeLessThan(Math.log(512));
    }
    expect(MASS_THRESHOLDS).toEqual([0.9, 0.95, 0.99]);
  });

  it('the per-position table averages back to the per-head means', () => {
    const col = (n: string) => r.positions.getChild(n)!.toArray() as Float32Array | Int32Array;
    const [ent, win, layer, head] = ['entropy', 'windows', 'layer', 'head'].map(col);
    const sums = new Float64Array(40);
    const rows = new Float64Array(40);
    for (let k = 0; k < ent!.length; k++) {
      const hi = layer![k]! * 8 + head![k]!;
      sums[hi]! += ent![k]! * win![k]!;
      rows[hi]! += win![k]!;
    }
    r.summary.heads.forEach((h, hi) => {
      expect(rows[hi]).toBe(h.rows);
      expect(sums[hi]! / rows[hi]!).toBeCloseTo(h.entropy, 4);
    });
    // position 0 sees only itself: entropy 0, all mass on the sink, distance 0
    expect(r.positions.get(0)!.toJSON()).toMatchObject({
      position: 0,
      entropy: 0,
      sink_mass: 1,
      mean_distance: 0,
    });
  });

  it('stories260K has no attention sink on the first token, local previous-token heads, and slash over vertical structure', () => {
    const heads = r.summary.heads;
    // Measured: sink mass ≤ 0.02 in every head (the first window token gets little attention).
    expect(Math.max(...heads.map((h) => h.sinkMass))).toBeLessThan(0.05);
    expect(r.summary.sinkHeads).toEqual([]);
    // L1H3 reads mostly the current/previous token: mean distance ≈ 1.1, k90 < 2.
    const l1h3 = heads[1 * 8 + 3]!;
    expect(l1h3.meanDistance).toBeLessThan(1.5);
    expect(l1h3.k90).toBeLessThan(2);
    expect(r.summary.localHeads.map((h) => `L${h.layer}H${h.head}`)).toContain('L1H3');
    // Diagonal (fixed-offset) structure dominates column structure in every head.
    for (const h of heads) expect(h.slash).toBeGreaterThan(h.vertical);
    // Late layers are broader than the local ones.
    const meanEntropy = (l: number) =>
      heads.filter((h) => h.layer === l).reduce((s, h) => s + h.entropy, 0) / 8;
    expect(meanEntropy(4)).toBeGreaterThan(meanEntropy(1));
    expect(r.heads.getChild(HEAD_PROBE_COLUMNS.coverage(64))).toBeTruthy();
  });
});
