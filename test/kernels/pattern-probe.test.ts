import { expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { bucketCount, MASS_EPS, MASS_THRESHOLDS, patternProbeLayout } from '../../kernels/pattern-probe.cpu';
import { describeBackends, randn, rng } from './harness';

/**
 * Naive float64 reference, independent of the kernels: per causal row a full sort, cumulative
 * masses of the sorted row normalised by its float64 sum. Also records, per threshold, how close
 * the crossing cumulative mass lies to the threshold (ambiguous k within AMBIG of it).
 */
const AMBIG = 1e-5;

interface Naive {
  rows: Float64Array;
  lines: Float64Array;
  /** Row·3 + t of the k values whose crossing is within AMBIG of the threshold. */
  ambiguous: Set<number>;
}

function naive(probs: Float32Array, H: number, T: number, ks: number[], nSink: number, nB: number): Naive {
  const F = 6 + ks.length + nB;
  const rows = new Float64Array(H * T * F);
  const lines = new Float64Array(H * 2 * T);
  const ambiguous = new Set<number>();
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      const p = Array.from(probs.subarray((h * T + i) * T, (h * T + i) * T + i + 1));
      const total = p.reduce((a, b) => a + b, 0);
      const q = p.map((x) => x / total);
      const o = (h * T + i) * F;
      rows[o] = -q.reduce((a, x) => (x > 0 ? a + x * Math.log(x) : a), 0);
      rows[o + 1] = q.slice(0, nSink).reduce((a, b) => a + b, 0);
      rows[o + 2] = q.reduce((a, x, j) => a + x * (i - j), 0);
      const sorted = [...q].sort((a, b) => b - a);
      const cum: number[] = [];
      sorted.reduce((a, x) => (cum.push(a + x), a + x), 0);
      MASS_THRESHOLDS.forEach((thr, t) => {
        const target = thr - MASS_EPS;
        let r = cum.findIndex((c) => c >= target) + 1;
        if (r === 0) r = i + 1;
        rows[o + 3 + t] = r;
        if (cum.some((c) => Math.abs(c - target) < AMBIG)) ambiguous.add((h * T + i) * 3 + t);
      });
      ks.forEach((k, c) => (rows[o + 6 + c] = k > i ? 1 : Math.min(1, cum[k - 1]!)));
      for (let j = 0; j <= i; j++) {
        const d = i - j;
        const b = d === 0 ? 0 : Math.floor(Math.log2(d)) + 1;
        rows[o + 6 + ks.length + b]! += q[j]!;
        lines[h * 2 * T + j]! += p[j]!;
        lines[h * 2 * T + T + d]! += p[j]!;
      }
    }
  }
  return { rows, lines, ambiguous };
}

type Kind = 'softmax' | 'peaky' | 'uniform' | 'ties' | 'onehot' | 'sink' | 'flat';

/** Causal patterns [H, T, T] of one kind, zero above the diagonal. */
function pattern(kind: Kind, H: number, T: number, seed: number): Float32Array {
  const out = new Float32Array(H * T * T);
  const r = rng(seed);
  const z = randn(seed + 1, H * T * T, kind === 'peaky' ? 6 : 1.5);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      const o = (h * T + i) * T;
      const row = new Float64Array(i + 1);
      if (kind === 'uniform') row.fill(1);
      else if (kind === 'onehot') row[Math.floor(r() * (i + 1))] = 1;
      else if (kind === 'sink') {
        // One key near 1, the rest spread over 2^0 … 2^−140 (subnormals included) with some
        // exact zeros: the select's last histogram bin, which mixes exponents.
        for (let j = 0; j <= i; j++) row[j] = r() < 0.1 ? 0 : 2 ** (-140 * r());
        row[0] = 1;
      } else if (kind === 'flat') {
        // Near-uniform: most keys share one 1/8-octave bin, so the select splits it into sub-bins.
        for (let j = 0; j <= i; j++) row[j] = 1 + 1e-3 * r();
      } else if (kind === 'ties') {
        // Few distinct values (quarters) with exact zeros: many ties, some zero entries.
        for (let j = 0; j <= i; j++) row[j] = Math.floor(r() * 4) / 4;
        if (row.every((x) => x === 0)) row[i] = 1;
      } else {
        let mx = -Infinity;
        for (let j = 0; j <= i; j++) mx = Math.max(mx, z[o + j]!);
        for (let j = 0; j <= i; j++) row[j] = Math.exp(z[o + j]! - mx);
        if (kind === 'peaky') row[Math.floor(r() * (i + 1))]! += 20;
      }
      const s = row.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++) out[o + j] = kind === 'ties' ? row[j]! : row[j]! / s;
    }
  }
  return out;
}

async function run(
  b: Backend,
  probs: Float32Array,
  H: number,
  T: number,
  ks: number[],
  nSink: number,
  nB: number,
) {
  const t = b.tensor(probs, [H, T, T]);
  const res = b.patternProbe(t, { ks, nSink, nBuckets: nB });
  const rows = await b.read(res.rows);
  const lines = await b.read(res.lines);
  b.dispose(t, res.rows, res.lines);
  return { rows, lines, rowShape: res.rows.shape, lineShape: res.lines.shape };
}

const KS = [1, 2, 4, 8, 16, 32, 64];

describeBackends('patternProbe', ({ b, checked }) => {
  const cases: [Kind, number, number, number[]?][] = [
    // ks beyond the kernel's 64-entry heap go through its histogram select.
    ['softmax', 1, 300, [1, 3, 65, 100, 250]],
    ['uniform', 1, 300, [1, 100, 250]],
    ['softmax', 1, 1],
    ['softmax', 2, 7],
    ['softmax', 2, 64],
    ['softmax', 1, 300],
    ['softmax', 1, 512],
    ['peaky', 2, 300],
    ['uniform', 1, 512],
    ['ties', 2, 200],
    // Edge cases of the select: all mass on one key (the rest exact zeros), a sink key over
    // values spanning 140 octaves, near-uniform rows (one crowded bin); T not a multiple of 64.
    ['onehot', 1, 130],
    ['sink', 2, 200, [1, 3, 65, 100, 150]],
    ['flat', 1, 300, [1, 5, 64, 200]],
    ['flat', 1, 97],
  ];
  for (const [kind, H, T, ks = KS] of cases) {
    it(`matches a float64 full-sort reference: ${kind} rows, ${H} heads × T ${T}, ks ${ks.join(',')}`, async () => {
      const nB = bucketCount(T) + 1;
      const nSink = 2;
      const probs = pattern(kind, H, T, T * 31 + H);
      const got = await checked(() => run(b(), probs, H, T, ks, nSink, nB));
      const ref = naive(probs, H, T, ks, nSink, nB);
      const L = patternProbeLayout({ ks: ks, nBuckets: nB });
      expect(got.rowShape).toEqual([H, T, L.width]);
      expect(got.lineShape).toEqual([H, 2, T]);
      let ambiguousMismatch = 0;
      for (let r = 0; r < H * T; r++) {
        const i = r % T;
        for (let c = 0; c < L.width; c++) {
          const g = got.rows[r * L.width + c]!;
          const e = ref.rows[r * L.width + c]!;
          const what = `row ${r} (i ${i}) column ${c}: got ${g}, expected ${e}`;
          if (c >= L.kFor && c < L.coverage) {
            if (g !== e) {
              // Only allowed where the float64 cumulative mass lies within AMBIG of the threshold,
              // and then by one.
              expect(ref.ambiguous.has(r * 3 + c - L.kFor), what).toBe(true);
              expect(Math.abs(g - e), what).toBeLessThanOrEqual(1);
              ambiguousMismatch++;
            }
          } else if (c === L.meanDistance) {
            expect(Math.abs(g - e), what).toBeLessThanOrEqual(1e-5 * Math.max(1, e));
          } else {
            // Entropy, sink, coverage, locality: 1e-5 relative (absolute below 1).
            expect(Math.abs(g - e), what).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(e)));
          }
        }
      }
      // Ambiguous k's are rare on random rows: at most 1 % of rows × thresholds. (Uniform and
      // quantised rows hit thresholds exactly, e.g. r / n = 0.9, so any flagged one may differ.)
      if (kind === 'softmax' || kind === 'peaky')
        expect(ambiguousMismatch).toBeLessThanOrEqual(Math.max(1, 0.01 * H * T * 3));
      for (let x = 0; x < got.lines.length; x++) {
        const e = ref.lines[x]!;
        expect(Math.abs(got.lines[x]! - e), `line ${x}`).toBeLessThanOrEqual(2e-6 * T * Math.max(1, e));
      }
    });
  }

  it('exactly uniform rows: k = ceil(thr · n), coverage k / n', async () => {
    const T = 100;
    const probs = pattern('uniform', 1, T, 1);
    const got = await checked(() => run(b(), probs, 1, T, [1, 8], 0, bucketCount(T)));
    const L = patternProbeLayout({ ks: [1, 8], nBuckets: bucketCount(T) });
    const i = T - 1;
    const o = i * L.width;
    expect(got.rows[o + L.sinkMass]).toBe(0);
    expect(got.rows[o + L.entropy]).toBeCloseTo(Math.log(T), 5);
    expect(Array.from(got.rows.subarray(o + L.kFor, o + L.kFor + 3))).toEqual([90, 95, 99]);
    expect(got.rows[o + L.coverage + 1]).toBeCloseTo(8 / T, 6);
  });

  it('rejects a non-square pattern, bad ks and too few buckets', () => {
    const t = b().zeros([1, 2, 3]) as Parameters<Backend['patternProbe']>[0];
    expect(() => b().patternProbe(t, { ks: [1], nSink: 1, nBuckets: 4 })).toThrow(/\[nHeads, T, T\]/);
    b().dispose(t);
    const u = b().zeros([1, 9, 9]) as Parameters<Backend['patternProbe']>[0];
    expect(() => b().patternProbe(u, { ks: [2, 1], nSink: 1, nBuckets: 5 })).toThrow(/ascending/);
    expect(() => b().patternProbe(u, { ks: [1], nSink: 1, nBuckets: 4 })).toThrow(/nBuckets/);
    b().dispose(u);
  });
});
