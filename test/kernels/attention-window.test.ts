/**
 * Attention's score options (AttentionOptions.scale, softcap, window) on both backends, in every
 * variant of the kernels (plain, returnProbs, returnRowStats, the fused probe, a KV cache), against
 * an independent float64 reference: an explicit score matrix, mask and softmax per head.
 */
import { expect, it } from 'vitest';
import type { AttentionOptions, Backend } from '../../kernels/backend';
import { bucketCount, bucketRange, patternProbeLayout } from '../../kernels/pattern-probe.cpu';
import { TOL_ELEMENTWISE, TOL_REDUCTION, describeBackends, expectClose, maxAbsDiff, randn } from './harness';

interface Case extends AttentionOptions {
  t: number;
  tk: number;
}

interface Got {
  out: Float32Array;
  probs?: Float32Array;
  rowStats?: Float32Array;
  probe?: { rows: Float32Array; lines: Float32Array };
}

/** Run attention on `be`, read everything back and dispose every tensor it made. */
async function run(be: Backend, q: Float32Array, k: Float32Array, v: Float32Array, c: Case): Promise<Got> {
  const tq = be.tensor<'f32'>(q, [c.t, c.nHeads * c.headDim]);
  const tk = be.tensor<'f32'>(k, [c.tk, c.nKvHeads * c.headDim]);
  const tv = be.tensor<'f32'>(v, [c.tk, c.nKvHeads * c.headDim]);
  try {
    const r = be.attention(tq, tk, tv, c);
    const got: Got = { out: await be.read(r.out) };
    if (r.probs) got.probs = await be.read(r.probs);
    if (r.rowStats) got.rowStats = await be.read(r.rowStats);
    if (r.probe) got.probe = { rows: await be.read(r.probe.rows), lines: await be.read(r.probe.lines) };
    be.dispose(r.out, r.probs, r.rowStats, r.probe?.rows, r.probe?.lines);
    return got;
  } finally {
    be.dispose(tq, tk, tv);
  }
}

/** Recycle a few pool buffers of `n` floats filled with `x`, so entries a kernel fails to write show. */
function poison(be: Backend, n: number, x: number): void {
  const data = new Float32Array(n).fill(x);
  be.dispose(...Array.from({ length: 8 }, () => be.tensor<'f32'>(data, [n])));
}

interface Naive {
  out: Float64Array;
  /** [nHeads, T, Tk], exact 0 where masked. */
  probs: Float64Array;
  /** [nHeads, T, 3]: entropy, mass on key 0, mean distance. */
  stats: Float64Array;
  /** [nHeads, 2, T] column and diagonal sums (meaningful for pos0 = 0, Tk = T). */
  lines: Float64Array;
}

/**
 * The reference: for each head an explicit [T, Tk] score matrix S = scale·q·kᵀ, soft-capped
 * (cap·tanh(S / cap)), masked (key j visible to position p = pos0 + i iff j ≤ p and p − j < window),
 * softmax over the visible keys, then P·V, all in float64.
 */
function naive(q: Float32Array, k: Float32Array, v: Float32Array, c: Case): Naive {
  const { t, tk, nHeads, nKvHeads, headDim: d } = c;
  const pos0 = c.pos0 ?? 0;
  const scale = c.scale ?? 1 / Math.sqrt(d);
  const window = c.window ?? Infinity;
  const group = nHeads / nKvHeads;
  const out = new Float64Array(t * nHeads * d);
  const probs = new Float64Array(nHeads * t * tk);
  const stats = new Float64Array(nHeads * t * 3);
  const lines = new Float64Array(nHeads * 2 * t);
  for (let h = 0; h < nHeads; h++) {
    const g = Math.floor(h / group);
    const S = Array.from({ length: t }, () => new Float64Array(tk));
    const visible = (i: number, j: number) => j <= pos0 + i && pos0 + i - j < window;
    for (let i = 0; i < t; i++)
      for (let j = 0; j < tk; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += q[i * nHeads * d + h * d + e]! * k[j * nKvHeads * d + g * d + e]!;
        s *= scale;
        if (c.softcap) s = c.softcap * Math.tanh(s / c.softcap);
        S[i]![j] = visible(i, j) ? s : -Infinity;
      }
    for (let i = 0; i < t; i++) {
      const row = S[i]!;
      const max = Math.max(...row);
      const e = row.map((s) => Math.exp(s - max));
      const sum = e.reduce((a, b) => a + b, 0);
      const p = e.map((x) => x / sum);
      probs.set(p, (h * t + i) * tk);
      let entropy = 0;
      let dist = 0;
      for (let j = 0; j < tk; j++) {
        if (p[j]! > 0) entropy -= p[j]! * Math.log(p[j]!);
        if (p[j]! > 0) dist += p[j]! * (pos0 + i - j);
        if (j < t && j <= i) {
          lines[h * 2 * t + j]! += p[j]!;
          lines[h * 2 * t + t + i - j]! += p[j]!;
        }
      }
      stats.set([entropy, p[0]!, dist], (h * t + i) * 3);
      for (let e2 = 0; e2 < d; e2++) {
        let acc = 0;
        for (let j = 0; j < tk; j++) acc += p[j]! * v[j * nKvHeads * d + g * d + e2]!;
        out[i * nHeads * d + h * d + e2] = acc;
      }
    }
  }
  return { out, probs, stats, lines };
}

/** q, k ~ N(0, 3) (scores large enough that a soft-cap of 5 matters), v ~ N(0, 1). */
function inputs(c: Case, seed: number): { q: Float32Array; k: Float32Array; v: Float32Array } {
  return {
    q: randn(seed, c.t * c.nHeads * c.headDim, 3),
    k: randn(seed + 1, c.tk * c.nKvHeads * c.headDim, 3),
    v: randn(seed + 2, c.tk * c.nKvHeads * c.headDim),
  };
}

/** Columns 0..2 of the probe rows [nHeads, T, width]. */
function probeStats(rows: Float32Array, width: number): Float32Array {
  const n = rows.length / width;
  const out = new Float32Array(n * 3);
  for (let r = 0; r < n; r++) out.set(rows.subarray(r * width, r * width + 3), r * 3);
  return out;
}

describeBackends('attention scale / softcap / window', ({ b, itVsCpu, checked }) => {
  const shapes: Case[] = [
    { t: 9, tk: 9, nHeads: 4, nKvHeads: 2, headDim: 8 },
    // KV cache: queries at positions 7..11 of a 16-row cache.
    { t: 5, tk: 16, nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 7 },
  ];
  const options: Pick<AttentionOptions, 'scale' | 'softcap' | 'window'>[] = [];
  for (const scale of [undefined, 0.37])
    for (const softcap of [undefined, 5])
      for (const window of [undefined, 1, 3, 9]) {
        options.push({
          ...(scale !== undefined && { scale }),
          ...(softcap !== undefined && { softcap }),
          ...(window !== undefined && { window }),
        });
      }

  for (const [si, shape] of shapes.entries()) {
    for (const [oi, o] of options.entries()) {
      const c: Case = { ...shape, ...o };
      const pos0 = c.pos0 ?? 0;
      const name = `T=${c.t} Tk=${c.tk} pos0=${pos0}, scale ${o.scale ?? 'default'}, softcap ${o.softcap ?? 'none'}, window ${o.window ?? 'none'}`;
      it(`matches the float64 reference in every variant: ${name}`, async () => {
        const { q, k, v } = inputs(c, 1000 + 100 * si + oi);
        const want = naive(q, k, v, c);
        const be = b();
        poison(be, c.nHeads * c.t * c.tk, 0.5);
        const plain = await checked(() => run(be, q, k, v, c));
        poison(be, c.nHeads * c.t * c.tk, 0.5);
        const withProbs = await checked(() => run(be, q, k, v, { ...c, returnProbs: true }));
        const withStats = await checked(() => run(be, q, k, v, { ...c, returnRowStats: true }));
        const both = await checked(() => run(be, q, k, v, { ...c, returnProbs: true, returnRowStats: true }));
        for (const [what, got] of Object.entries({ plain, withProbs, withStats, both })) {
          expectClose(got.out, want.out, TOL_ELEMENTWISE, `${what}: out`);
        }
        for (const [what, got] of Object.entries({ withProbs, both })) {
          expectClose(got.probs!, want.probs, TOL_ELEMENTWISE, `${what}: probs`);
          // Masked keys (before the window, after the query, the cache tail) are exactly 0.
          const zeros = [...want.probs.keys()].filter((x) => want.probs[x] === 0);
          expect(
            zeros.map((x) => got.probs![x]),
            `${what}: masked probabilities`,
          ).toEqual(zeros.map(() => 0));
        }
        for (const [what, got] of Object.entries({ withStats, both })) {
          expectClose(got.rowStats!, want.stats, TOL_REDUCTION, `${what}: row stats`);
        }
        if (pos0 !== 0 || c.tk !== c.t) return;

        // The fused probe: alone (WebGPU's scores path: raw scores, the window's sentinel turned
        // into exact zeros by the probe) and beside the pattern and the row statistics.
        const probe = { ks: [1, 2, 4], nSink: 1, nBuckets: bucketCount(c.t) };
        const L = patternProbeLayout(probe);
        poison(be, c.nHeads * c.t * c.tk, 0.5);
        const alone = await checked(() => run(be, q, k, v, { ...c, probe }));
        const all = await checked(() =>
          run(be, q, k, v, { ...c, probe, returnProbs: true, returnRowStats: true }),
        );
        expect(alone.probs).toBeUndefined();
        // The same as patternProbe of the returned (windowed) probabilities...
        const tp = be.tensor<'f32'>(all.probs!, [c.nHeads, c.t, c.t]);
        const stored = be.patternProbe(tp, probe);
        const [rows, lines] = [await be.read(stored.rows), await be.read(stored.lines)];
        be.dispose(tp, stored.rows, stored.lines);
        for (const [what, got] of Object.entries({ alone, all })) {
          expectClose(got.out, want.out, TOL_ELEMENTWISE, `${what}: out`);
          expectClose(got.probe!.rows, rows, 1e-5, `${what}: probe rows vs patternProbe(probs)`);
          expectClose(got.probe!.lines, lines, 1e-5, `${what}: probe lines vs patternProbe(probs)`);
          // ...and to the reference: entropy, sink mass, distance and the line sums.
          expectClose(
            probeStats(got.probe!.rows, L.width),
            want.stats,
            TOL_REDUCTION,
            `${what}: probe stats`,
          );
          expectClose(got.probe!.lines, want.lines, TOL_REDUCTION, `${what}: probe lines`);
          // Keys outside the window count exactly 0: diagonals at distance ≥ window sum to 0, and
          // so do the locality buckets lying wholly beyond the window.
          const w = c.window ?? Infinity;
          for (let h = 0; h < c.nHeads; h++) {
            for (let off = 0; off < c.t; off++) {
              if (off >= w)
                expect(got.probe!.lines[h * 2 * c.t + c.t + off], `${what}: diagonal ${off}`).toBe(0);
            }
            for (let i = 0; i < c.t; i++) {
              for (let bk = 0; bk < probe.nBuckets; bk++) {
                if (bucketRange(bk)[0] >= w) {
                  const x = got.probe!.rows[(h * c.t + i) * L.width + L.locality + bk];
                  expect(x, `${what}: locality bucket ${bk}, row ${i}`).toBe(0);
                }
              }
            }
          }
        }
        expectClose(all.rowStats!, want.stats, TOL_REDUCTION, 'all: row stats');
      });
    }
  }

  it('each option changes the result by far more than the tolerance', async () => {
    const c: Case = { t: 9, tk: 12, nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 3 };
    const { q, k, v } = inputs(c, 77);
    const base = await checked(() => run(b(), q, k, v, { ...c, returnProbs: true, returnRowStats: true }));
    for (const o of [{ scale: 0.1 }, { softcap: 5 }, { window: 3 }, { window: 1 }]) {
      const got = await checked(() =>
        run(b(), q, k, v, { ...c, ...o, returnProbs: true, returnRowStats: true }),
      );
      const want = naive(q, k, v, { ...c, ...o });
      expectClose(got.out, want.out, TOL_ELEMENTWISE, `${JSON.stringify(o)}: out`);
      for (const [what, a, z] of [
        ['out', got.out, base.out],
        ['probs', got.probs!, base.probs!],
        ['row stats', got.rowStats!, base.rowStats!],
      ] as const) {
        expect(maxAbsDiff(a, z).diff, `${JSON.stringify(o)} changes ${what}`).toBeGreaterThan(0.05);
      }
    }
  });

  it('a window of 1 makes each query copy its own value row', async () => {
    const c: Case = { t: 6, tk: 10, nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 4, window: 1 };
    const { q, k, v } = inputs(c, 5);
    const got = await checked(() => run(b(), q, k, v, { ...c, returnRowStats: true }));
    const want = new Float32Array(c.t * c.nHeads * c.headDim);
    for (let i = 0; i < c.t; i++)
      for (let h = 0; h < c.nHeads; h++)
        for (let d = 0; d < c.headDim; d++) {
          const g = Math.floor(h / 2);
          want[(i * c.nHeads + h) * c.headDim + d] =
            v[(c.pos0! + i) * c.nKvHeads * c.headDim + g * c.headDim + d]!;
        }
    expectClose(got.out, want, 1e-6, 'out');
    // Entropy 0, no mass on key 0 (outside every window here), distance 0.
    expectClose(got.rowStats!, new Float32Array(c.nHeads * c.t * 3), 1e-6, 'row stats');
  });

  it('keys outside the window are never read (NaN there does not reach the result)', async () => {
    // A long cache with a short window: keys before the first query's window and after the last
    // query hold NaN; a kernel that visited them and masked afterwards would return NaN.
    const c: Case = { t: 3, tk: 64, nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 40, window: 5, softcap: 5 };
    const { q, k, v } = inputs(c, 9);
    const clean = { k: k.slice(), v: v.slice() };
    const kvDim = c.nKvHeads * c.headDim;
    for (let j = 0; j < c.tk; j++) {
      if (j > 40 - 5 && j < 40 + c.t) continue;
      k.fill(NaN, j * kvDim, (j + 1) * kvDim);
      v.fill(NaN, j * kvDim, (j + 1) * kvDim);
    }
    const want = naive(q, clean.k, clean.v, c);
    for (const extra of [{}, { returnProbs: true }, { returnRowStats: true }]) {
      const got = await checked(() => run(b(), q, k, v, { ...c, ...extra }));
      expectClose(got.out, want.out, TOL_ELEMENTWISE, `${JSON.stringify(extra)}: out`);
      if (got.probs) expectClose(got.probs, want.probs, TOL_ELEMENTWISE, 'probs');
      if (got.rowStats) expectClose(got.rowStats, want.stats, TOL_REDUCTION, 'row stats');
    }
  });

  // Head sizes of real models (Phi-2 80, Gemma 256, ...) and widths that are not multiples of 8
  // (40) or of 4 (10: the scalar path); q's width nHeads·headDim is unrelated to any model width.
  const headDims = [40, 48, 80, 96, 128, 256, 10];
  for (const [n, headDim] of headDims.entries()) {
    it(`headDim ${headDim}: every variant matches the reference, with scale, softcap and window`, async () => {
      const shapesHd: Case[] = [
        { t: 5, tk: 11, nHeads: 3, nKvHeads: 1, headDim, pos0: 4, scale: 0.11, softcap: 5, window: 4 },
        { t: 6, tk: 6, nHeads: 4, nKvHeads: 2, headDim },
      ];
      for (const c of shapesHd) {
        const { q, k, v } = inputs(c, 2000 + n);
        const want = naive(q, k, v, c);
        const got = await checked(() => run(b(), q, k, v, { ...c, returnProbs: true, returnRowStats: true }));
        const plain = await checked(() => run(b(), q, k, v, c));
        expectClose(got.out, want.out, TOL_ELEMENTWISE, 'out');
        expectClose(plain.out, want.out, TOL_ELEMENTWISE, 'out (plain)');
        expectClose(got.probs!, want.probs, TOL_ELEMENTWISE, 'probs');
        expectClose(got.rowStats!, want.stats, TOL_REDUCTION, 'row stats');
        if ((c.pos0 ?? 0) === 0) {
          const probe = { ks: [1, 2], nSink: 1, nBuckets: bucketCount(c.t) };
          const p = await checked(() => run(b(), q, k, v, { ...c, probe }));
          expectClose(p.out, want.out, TOL_ELEMENTWISE, 'out (probe)');
          expectClose(p.probe!.lines, want.lines, TOL_REDUCTION, 'probe lines');
        }
      }
    });
  }

  itVsCpu('the CPU kernels and this backend agree on a longer windowed, capped sequence', async (ref) => {
    const c: Case = { t: 40, tk: 40, nHeads: 4, nKvHeads: 2, headDim: 16, softcap: 5, window: 7, scale: 0.2 };
    const { q, k, v } = inputs(c, 31);
    const probe = { ks: [1, 4, 8], nSink: 2, nBuckets: bucketCount(c.t) };
    const opts = { ...c, returnRowStats: true, probe };
    const expected = await run(ref, q, k, v, opts);
    const got = await checked(() => run(b(), q, k, v, opts));
    expectClose(got.out, expected.out, TOL_ELEMENTWISE, 'out');
    expectClose(got.rowStats!, expected.rowStats!, TOL_REDUCTION, 'row stats');
    expectClose(got.probe!.rows, expected.probe!.rows, TOL_REDUCTION, 'probe rows');
    expectClose(got.probe!.lines, expected.probe!.lines, TOL_REDUCTION, 'probe lines');
  });

  it('rejects bad options with clear messages', () => {
    const be = b();
    const q = be.tensor<'f32'>(new Float32Array(2 * 8), [2, 8]);
    const k = be.tensor<'f32'>(new Float32Array(2 * 8), [2, 8]);
    try {
      const o = { nHeads: 1, nKvHeads: 1, headDim: 8 };
      expect(() => be.attention(q, k, k, { ...o, window: 0 })).toThrow(/window must be an integer ≥ 1/);
      expect(() => be.attention(q, k, k, { ...o, window: 2.5 })).toThrow(/window must be an integer ≥ 1/);
      expect(() => be.attention(q, k, k, { ...o, softcap: -1 })).toThrow(
        /softcap must be a finite number ≥ 0/,
      );
      expect(() => be.attention(q, k, k, { ...o, scale: NaN })).toThrow(/scale must be a finite number/);
    } finally {
      be.dispose(q, k);
    }
  });
});
