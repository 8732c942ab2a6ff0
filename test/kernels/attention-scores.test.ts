/**
 * AttentionOptions.returnScores on both backends: the pre-softmax scores [nHeads, T, Tk]
 * (TransformerLens' hook_attn_scores) after the scale and the soft-cap, −Infinity where masked
 * (after the query, before its window, the KV-cache tail), against a float64 reference, alone and
 * beside every other output of the kernel; softmax(scores) is the returned pattern.
 */
import { expect, it } from 'vitest';
import type { AttentionOptions, Backend } from '../../kernels/backend';
import { bucketCount } from '../../kernels/pattern-probe.cpu';
import { TOL_ELEMENTWISE, describeBackends, expectClose, randn } from './harness';

interface Case extends AttentionOptions {
  t: number;
  tk: number;
}

interface Got {
  out: Float32Array;
  scores?: Float32Array;
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
    if (r.scores) {
      expect(r.scores.shape).toEqual([c.nHeads, c.t, c.tk]);
      got.scores = await be.read(r.scores);
    }
    if (r.probs) got.probs = await be.read(r.probs);
    if (r.rowStats) got.rowStats = await be.read(r.rowStats);
    if (r.probe) got.probe = { rows: await be.read(r.probe.rows), lines: await be.read(r.probe.lines) };
    be.dispose(r.out, r.scores, r.probs, r.rowStats, r.probe?.rows, r.probe?.lines);
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

/**
 * float64 reference: per head the explicit [T, Tk] score matrix scale·q·kᵀ, soft-capped, −∞ where
 * key j is not visible to position p = pos0 + i (j > p or p − j ≥ window); its softmax and P·V.
 */
function naive(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  c: Case,
): { scores: Float64Array; probs: Float64Array; out: Float64Array } {
  const { t, tk, nHeads, nKvHeads, headDim: d } = c;
  const pos0 = c.pos0 ?? 0;
  const scale = c.scale ?? 1 / Math.sqrt(d);
  const window = c.window ?? Infinity;
  const group = nHeads / nKvHeads;
  const scores = new Float64Array(nHeads * t * tk);
  const out = new Float64Array(t * nHeads * d);
  for (let h = 0; h < nHeads; h++) {
    const g = Math.floor(h / group);
    for (let i = 0; i < t; i++)
      for (let j = 0; j < tk; j++) {
        const p = pos0 + i;
        let s = -Infinity;
        if (j <= p && p - j < window) {
          s = 0;
          for (let e = 0; e < d; e++) s += q[i * nHeads * d + h * d + e]! * k[j * nKvHeads * d + g * d + e]!;
          s *= scale;
          if (c.softcap) s = c.softcap * Math.tanh(s / c.softcap);
        }
        scores[(h * t + i) * tk + j] = s;
      }
  }
  const probs = softmaxRows(scores, tk);
  for (let h = 0; h < nHeads; h++) {
    const g = Math.floor(h / group);
    for (let i = 0; i < t; i++)
      for (let e = 0; e < d; e++) {
        let acc = 0;
        for (let j = 0; j < tk; j++) acc += probs[(h * t + i) * tk + j]! * v[j * nKvHeads * d + g * d + e]!;
        out[i * nHeads * d + h * d + e] = acc;
      }
  }
  return { scores, probs, out };
}

/** Row-wise softmax over rows of `n` in float64; −∞ entries get exactly 0. */
function softmaxRows(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += n) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x[r + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += out[r + j] = Math.exp(x[r + j]! - max);
    for (let j = 0; j < n; j++) out[r + j]! /= sum;
  }
  return out;
}

/**
 * Scores against the reference: the same entries are −∞ (exactly, never the probe's −3e38
 * sentinel, NaN or a poisoned value) and the finite ones agree to TOL_ELEMENTWISE relative to
 * max(1, |score|). Returns the worst relative error.
 */
function expectScores(got: Float32Array, want: Float64Array, what: string): number {
  expect(got.length, `${what}: length`).toBe(want.length);
  const masked = [...want.keys()].filter((x) => want[x] === -Infinity);
  expect(
    masked.map((x) => got[x]),
    `${what}: masked scores`,
  ).toEqual(masked.map(() => -Infinity));
  let worst = 0;
  let at = -1;
  for (let x = 0; x < want.length; x++) {
    if (want[x] === -Infinity) continue;
    const e = Math.abs(got[x]! - want[x]!) / Math.max(1, Math.abs(want[x]!));
    if (!(e <= worst)) [worst, at] = [Number.isNaN(e) ? Infinity : e, x];
  }
  expect(
    worst,
    `${what}: worst relative error ${worst} at ${at} (got ${got[at]}, want ${want[at]})`,
  ).toBeLessThanOrEqual(TOL_ELEMENTWISE);
  return worst;
}

/** q, k ~ N(0, 3) (scores large enough that a soft-cap of 5 matters), v ~ N(0, 1). */
function inputs(c: Case, seed: number): { q: Float32Array; k: Float32Array; v: Float32Array } {
  return {
    q: randn(seed, c.t * c.nHeads * c.headDim, 3),
    k: randn(seed + 1, c.tk * c.nKvHeads * c.headDim, 3),
    v: randn(seed + 2, c.tk * c.nKvHeads * c.headDim),
  };
}

describeBackends('attention returnScores', ({ b, itVsCpu, checked }) => {
  const shapes: Case[] = [
    // GQA (two query heads per kv head), no cache.
    { t: 9, tk: 9, nHeads: 4, nKvHeads: 2, headDim: 8 },
    // KV cache: queries at positions 7..11 of a 16-row cache (the tail 12..15 is masked).
    { t: 5, tk: 16, nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 7 },
    // Scalar path (headDim not a multiple of 4), three query heads on one kv head.
    { t: 6, tk: 10, nHeads: 3, nKvHeads: 1, headDim: 10, pos0: 3 },
  ];
  const options: Pick<AttentionOptions, 'scale' | 'softcap' | 'window'>[] = [
    {},
    { scale: 0.37 },
    { softcap: 5 },
    { window: 3 },
    { window: 1 },
    { scale: 0.37, softcap: 5, window: 4 },
  ];
  for (const [si, shape] of shapes.entries()) {
    for (const [oi, o] of options.entries()) {
      const c: Case = { ...shape, ...o };
      const pos0 = c.pos0 ?? 0;
      const name = `T=${c.t} Tk=${c.tk} pos0=${pos0} hd=${c.headDim} ${JSON.stringify(o)}`;
      it(`scores match the float64 reference in every variant: ${name}`, async () => {
        const { q, k, v } = inputs(c, 3000 + 100 * si + oi);
        const want = naive(q, k, v, c);
        const be = b();
        const n = c.nHeads * c.t * c.tk;
        const variants: [string, Case][] = [
          ['alone', { ...c, returnScores: true }],
          ['with probs', { ...c, returnScores: true, returnProbs: true }],
          ['with row stats', { ...c, returnScores: true, returnRowStats: true }],
          ['with all', { ...c, returnScores: true, returnProbs: true, returnRowStats: true }],
        ];
        if (pos0 === 0 && c.t === c.tk) {
          const probe = { ks: [1, 2], nSink: 1, nBuckets: bucketCount(c.t) };
          variants.push(['with the probe', { ...c, returnScores: true, probe }]);
        }
        const plain = await checked(() => run(be, q, k, v, c));
        expect(plain.scores, 'no scores unless asked').toBeUndefined();
        for (const [what, opts] of variants) {
          poison(be, n, 0.5);
          const got = await checked(() => run(be, q, k, v, opts));
          expectScores(got.scores!, want.scores, what);
          expectClose(got.out, want.out, TOL_ELEMENTWISE, `${what}: out`);
          // The output is unchanged by asking for the scores.
          expectClose(got.out, plain.out, 1e-6, `${what}: out vs plain`);
          if (got.probs) {
            expectClose(softmaxRows(got.scores!, c.tk), got.probs, 1e-6, `${what}: softmax(scores) vs probs`);
          }
          if (opts.probe) {
            const p = await checked(() => run(be, q, k, v, { ...c, probe: opts.probe! }));
            expectClose(got.probe!.rows, p.probe!.rows, 1e-6, `${what}: probe rows`);
            expectClose(got.probe!.lines, p.probe!.lines, 1e-6, `${what}: probe lines`);
          }
        }
      });
    }
  }

  // Real head sizes, vec4 and scalar paths, on a KV cache with everything switched on.
  for (const headDim of [64, 80, 256, 6]) {
    it(`headDim ${headDim}: scores, softmax(scores) = probs, against the reference`, async () => {
      const c: Case = {
        t: 5,
        tk: 13,
        nHeads: 4,
        nKvHeads: 1,
        headDim,
        pos0: 6,
        scale: 0.07,
        softcap: 5,
        window: 4,
      };
      const { q, k, v } = inputs(c, 4000 + headDim);
      const want = naive(q, k, v, c);
      const got = await checked(() => run(b(), q, k, v, { ...c, returnScores: true, returnProbs: true }));
      expectScores(got.scores!, want.scores, 'scores');
      expectClose(softmaxRows(got.scores!, c.tk), got.probs!, 1e-6, 'softmax(scores) vs probs');
      expectClose(got.probs!, want.probs, TOL_ELEMENTWISE, 'probs');
      expectClose(got.out, want.out, TOL_ELEMENTWISE, 'out');
    });
  }

  itVsCpu('the CPU kernels and this backend agree on a longer windowed, capped sequence', async (ref) => {
    const c: Case = { t: 40, tk: 48, nHeads: 4, nKvHeads: 2, headDim: 16, softcap: 5, window: 7, scale: 0.2 };
    const { q, k, v } = inputs(c, 41);
    const opts = { ...c, returnScores: true, returnProbs: true };
    const expected = await run(ref, q, k, v, opts);
    const got = await checked(() => run(b(), q, k, v, opts));
    const want = naive(q, k, v, c);
    expectScores(expected.scores!, want.scores, 'cpu');
    expectScores(got.scores!, want.scores, 'this backend');
    expectClose(softmaxRows(got.scores!, c.tk), got.probs!, 1e-6, 'softmax(scores) vs probs');
  });
});
