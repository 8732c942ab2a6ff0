import { expect, it } from 'vitest';
import type { AttentionOptions, Backend } from '../../kernels/backend';
import { TOL_REDUCTION, describeBackends, expectClose, randn } from './harness';

interface Case extends AttentionOptions {
  t: number;
  tk: number;
}

/** Run attention on `be`, read everything back and dispose every tensor it made. */
async function run(
  be: Backend,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  c: Case,
): Promise<{
  out: Float32Array;
  probs?: Float32Array;
  rowStats?: Float32Array;
  probe?: { rows: Float32Array; lines: Float32Array };
}> {
  const tq = be.tensor<'f32'>(q, [c.t, c.nHeads * c.headDim]);
  const tk = be.tensor<'f32'>(k, [c.tk, c.nKvHeads * c.headDim]);
  const tv = be.tensor<'f32'>(v, [c.tk, c.nKvHeads * c.headDim]);
  const r = be.attention(tq, tk, tv, c);
  const out = await be.read(r.out);
  const probs = r.probs ? await be.read(r.probs) : undefined;
  const rowStats = r.rowStats ? await be.read(r.rowStats) : undefined;
  const probe = r.probe
    ? { rows: await be.read(r.probe.rows), lines: await be.read(r.probe.lines) }
    : undefined;
  be.dispose(tq, tk, tv, r.out, r.probs, r.rowStats, r.probe?.rows, r.probe?.lines);
  return { out, ...(probs && { probs }), ...(rowStats && { rowStats }), ...(probe && { probe }) };
}

/** Entropy, key-0 mass and mean distance of each [nHeads, T, Tk] probability row, in float64. */
function naiveRowStats(probs: Float32Array, c: Case): Float32Array {
  const pos0 = c.pos0 ?? 0;
  const out = new Float32Array(c.nHeads * c.t * 3);
  for (let h = 0; h < c.nHeads; h++)
    for (let i = 0; i < c.t; i++) {
      const row = probs.subarray((h * c.t + i) * c.tk, (h * c.t + i + 1) * c.tk);
      let e = 0;
      let d = 0;
      for (let j = 0; j <= pos0 + i; j++) {
        if (row[j]! > 0) e -= row[j]! * Math.log(row[j]!);
        d += row[j]! * (pos0 + i - j);
      }
      out.set([e, row[0]!, d], (h * c.t + i) * 3);
    }
  return out;
}

function inputs(c: Case, seed: number): { q: Float32Array; k: Float32Array; v: Float32Array } {
  return {
    q: randn(seed, c.t * c.nHeads * c.headDim),
    k: randn(seed + 1, c.tk * c.nKvHeads * c.headDim),
    v: randn(seed + 2, c.tk * c.nKvHeads * c.headDim),
  };
}

/** softmax(QKᵀ/√d + causal mask)·V per head with plain float64 loops, independent of the kernels. */
function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, c: Case): Float32Array {
  return naiveAttentionProbs(q, k, v, c).out;
}

/** `naiveAttention` with the probabilities [nHeads, t, tk] (0 past the causal limit). */
function naiveAttentionProbs(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  c: Case,
): { out: Float32Array; probs: Float32Array } {
  const { t, tk, nHeads, nKvHeads, headDim: d } = c;
  const pos0 = c.pos0 ?? 0;
  const group = nHeads / nKvHeads;
  const out = new Float32Array(t * nHeads * d);
  const probs = new Float32Array(nHeads * t * tk);
  for (let h = 0; h < nHeads; h++) {
    const g = Math.floor(h / group);
    for (let i = 0; i < t; i++) {
      const scores: number[] = [];
      for (let j = 0; j <= pos0 + i; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += q[i * nHeads * d + h * d + e]! * k[j * nKvHeads * d + g * d + e]!;
        scores.push(s / Math.sqrt(d));
      }
      const max = Math.max(...scores);
      const w = scores.map((s) => Math.exp(s - max));
      const sum = w.reduce((a, b) => a + b, 0);
      w.forEach((x, j) => (probs[(h * t + i) * tk + j] = x / sum));
      for (let e = 0; e < d; e++) {
        let acc = 0;
        for (let j = 0; j < w.length; j++) acc += (w[j]! / sum) * v[j * nKvHeads * d + g * d + e]!;
        out[i * nHeads * d + h * d + e] = acc;
      }
    }
  }
  return { out, probs };
}

describeBackends('attention', ({ b, checked }) => {
  it('a single query attends only key 0: out = v row 0 (extra cache rows ignored)', async () => {
    const c: Case = { t: 1, tk: 3, nHeads: 1, nKvHeads: 1, headDim: 4, returnProbs: true };
    const v = new Float32Array([1, 2, 3, 4, 50, 60, 70, 80, -1, -1, -1, -1]);
    const r = await checked(() =>
      run(
        b(),
        new Float32Array([1, 0, 0, 1]),
        v.map((x) => x * 10),
        v,
        c,
      ),
    );
    expectClose(r.out, [1, 2, 3, 4], 1e-6);
    expect(Array.from(r.probs!)).toEqual([1, 0, 0]);
  });

  it('equal scores average the visible value rows', async () => {
    // q = 0 gives every key score 0: row i averages v rows 0..i.
    const c: Case = { t: 3, tk: 3, nHeads: 1, nKvHeads: 1, headDim: 2 };
    const k = new Float32Array([5, -1, 2, 7, -3, 4]);
    const v = new Float32Array([3, 0, 1, 6, 2, 9]);
    const r = await checked(() => run(b(), new Float32Array(6), k, v, c));
    expectClose(r.out, [3, 0, 2, 3, 2, 5], 1e-6);
  });

  it('grouped heads share their KV head (h / (nHeads / nKvHeads))', async () => {
    // 4 query heads over 2 KV heads, hd 1, one query at pos0 = 1 seeing two keys. Scores (×1/√1):
    // heads 0, 1 read kv head 0 (k = [0, ln 3] → weights 1/4, 3/4); heads 2, 3 read kv head 1 (k = 0).
    const c: Case = { t: 1, tk: 2, nHeads: 4, nKvHeads: 2, headDim: 1, pos0: 1 };
    const k = new Float32Array([0, 0, Math.log(3), 0]);
    const v = new Float32Array([4, 10, 8, 20]);
    const r = await checked(() => run(b(), new Float32Array([1, 1, 1, 1]), k, v, c));
    expectClose(r.out, [7, 7, 15, 15], 1e-5);
  });

  it('probability rows sum to 1 and are exactly 0 past the causal limit and in the cache tail', async () => {
    const c: Case = { t: 5, tk: 12, nHeads: 2, nKvHeads: 1, headDim: 8, pos0: 4, returnProbs: true };
    const { q, k, v } = inputs(c, 7);
    // Recycle buffers full of NaN first (one for each tensor of the run), so zeros the kernel
    // fails to write would show.
    const poison = new Float32Array(c.nHeads * c.t * c.tk).fill(NaN);
    b().dispose(...[0, 1, 2, 3, 4].map(() => b().tensor<'f32'>(poison, [poison.length])));
    const { probs } = await checked(() => run(b(), q, k, v, c));
    for (let h = 0; h < c.nHeads; h++) {
      for (let i = 0; i < c.t; i++) {
        const row = probs!.subarray((h * c.t + i) * c.tk, (h * c.t + i + 1) * c.tk);
        const visible = 4 + i + 1;
        expect(row.slice(0, visible).reduce((a, x) => a + x, 0)).toBeCloseTo(1, 5);
        expect(row.slice(0, visible).every((x) => x > 0)).toBe(true);
        expect(Array.from(row.slice(visible))).toEqual(new Array(c.tk - visible).fill(0));
      }
    }
  });

  const cases: (Case & { name: string })[] = [
    { name: 'T=1 (first token)', t: 1, tk: 1, nHeads: 8, nKvHeads: 4, headDim: 8 },
    { name: 'T=7 grouped', t: 7, tk: 7, nHeads: 8, nKvHeads: 4, headDim: 8 },
    { name: 'T=33 MHA', t: 33, tk: 33, nHeads: 4, nKvHeads: 4, headDim: 8 },
    { name: 'T=512 stories260K', t: 512, tk: 512, nHeads: 8, nKvHeads: 4, headDim: 8 },
    { name: 'T=1 with a 300-key cache', t: 1, tk: 512, nHeads: 8, nKvHeads: 4, headDim: 8, pos0: 300 },
    { name: 'T=9 at pos0=20 in a 64-row cache', t: 9, tk: 64, nHeads: 6, nKvHeads: 2, headDim: 8, pos0: 20 },
    { name: 'hd=64 T=33 grouped', t: 33, tk: 33, nHeads: 4, nKvHeads: 2, headDim: 64 },
    { name: 'hd=64 T=1 at pos0=300', t: 1, tk: 301, nHeads: 4, nKvHeads: 4, headDim: 64, pos0: 300 },
    { name: 'hd=128 T=5 MQA', t: 5, tk: 5, nHeads: 4, nKvHeads: 1, headDim: 128 },
    { name: 'hd=6 (not a multiple of 4)', t: 11, tk: 14, nHeads: 4, nKvHeads: 2, headDim: 6, pos0: 3 },
  ];
  for (const [n, c] of cases.entries()) {
    for (const returnProbs of [false, true]) {
      it(`matches plain loops: ${c.name}, probs ${returnProbs ? 'on' : 'off'}`, async () => {
        const opts = { ...c, returnProbs };
        const { q, k, v } = inputs(c, 100 + n);
        const expected = naiveAttentionProbs(q, k, v, c);
        const got = await checked(() => run(b(), q, k, v, opts));
        expectClose(got.out, expected.out, TOL_REDUCTION, 'out');
        if (returnProbs) expectClose(got.probs!, expected.probs!, TOL_REDUCTION, 'probs');
        else expect(got.probs).toBeUndefined();
      });
    }
  }

  for (const [n, c] of cases.entries()) {
    it(`fused row statistics match the probabilities' entropy, sink mass and distance: ${c.name}`, async () => {
      const { q, k, v } = inputs(c, 300 + n);
      const got = await checked(() => run(b(), q, k, v, { ...c, returnRowStats: true, returnProbs: true }));
      const alone = await checked(() => run(b(), q, k, v, { ...c, returnRowStats: true }));
      expect(alone.probs).toBeUndefined();
      const expected = naiveRowStats(got.probs!, c);
      expectClose(got.rowStats!, expected, TOL_REDUCTION, 'row stats (with probs)');
      expectClose(alone.rowStats!, expected, TOL_REDUCTION, 'row stats (fused only)');
      expectClose(alone.out, got.out, TOL_REDUCTION, 'out');
    });
  }

  const PROBE = { ks: [1, 2, 4, 64], nSink: 1, nBuckets: 10 };
  for (const [n, c] of cases.filter((c) => (c.pos0 ?? 0) === 0 && c.tk === c.t).entries()) {
    it(`the fused probe equals patternProbe of the returned probabilities: ${c.name}`, async () => {
      const { q, k, v } = inputs(c, 400 + n);
      const be = b();
      const fused = await checked(async () => {
        const [tq, tk, tv] = [q, k, v].map((x, i) =>
          be.tensor<'f32'>(x, [c.t, (i === 0 ? c.nHeads : c.nKvHeads) * c.headDim]),
        );
        const r = be.attention(tq!, tk!, tv!, { ...c, probe: PROBE });
        const got = {
          probs: r.probs,
          out: await be.read(r.out),
          rows: await be.read(r.probe!.rows),
          lines: await be.read(r.probe!.lines),
        };
        be.dispose(tq!, tk!, tv!, r.out, r.probe!.rows, r.probe!.lines);
        return got;
      });
      expect(fused.probs, 'no pattern returned unless asked').toBeUndefined();
      const plain = await checked(() => run(be, q, k, v, { ...c, returnProbs: true }));
      const tp = be.tensor<'f32'>(plain.probs!, [c.nHeads, c.t, c.t]);
      const want = be.patternProbe(tp, PROBE);
      const [rows, lines] = [await be.read(want.rows), await be.read(want.lines)];
      be.dispose(tp, want.rows, want.lines);
      // The CPU takes the fused entropy from the scores, not from the float32 probabilities.
      expectClose(fused.rows, rows, 1e-5, 'probe rows');
      expectClose(fused.lines, lines, 1e-5, 'probe lines');
      expectClose(fused.out, plain.out, TOL_REDUCTION, 'out');
    });
  }

  // The probe alone takes the scores path on WebGPU (raw scores stored, no second sweep); with the
  // pattern or the row statistics also asked for, other kernel variants and bindings run.
  for (const c of cases.filter((c) => (c.pos0 ?? 0) === 0 && c.tk === c.t && c.t > 1).slice(0, 3)) {
    it(`the fused probe is the same alongside the pattern and the row statistics: ${c.name}`, async () => {
      const { q, k, v } = inputs(c, 500);
      const be = b();
      const alone = await checked(() => run(be, q, k, v, { ...c, probe: PROBE }));
      const withStats = await checked(() => run(be, q, k, v, { ...c, probe: PROBE, returnRowStats: true }));
      const withAll = await checked(() =>
        run(be, q, k, v, { ...c, probe: PROBE, returnRowStats: true, returnProbs: true }),
      );
      const stats = await checked(() => run(be, q, k, v, { ...c, returnRowStats: true }));
      expect(withStats.probs).toBeUndefined();
      for (const [name, got] of Object.entries({ withStats, withAll })) {
        expectClose(got.probe!.rows, alone.probe!.rows, 1e-6, `${name}: probe rows`);
        expectClose(got.probe!.lines, alone.probe!.lines, 1e-6, `${name}: probe lines`);
        expectClose(got.rowStats!, stats.rowStats!, 1e-6, `${name}: row stats`);
        expectClose(got.out, alone.out, 1e-6, `${name}: out`);
      }
    });
  }

  it('the fused probe refuses a pattern that does not start at key 0', () => {
    const c = cases.find((c) => c.pos0 === 20)!;
    const { q, k, v } = inputs(c, 5);
    const be = b();
    const tq = be.tensor<'f32'>(q, [c.t, c.nHeads * c.headDim]);
    const tk = be.tensor<'f32'>(k, [c.tk, c.nKvHeads * c.headDim]);
    const tv = be.tensor<'f32'>(v, [c.tk, c.nKvHeads * c.headDim]);
    expect(() => be.attention(tq, tk, tv, { ...c, probe: PROBE })).toThrow(/probe needs pos0 0/);
    be.dispose(tq, tk, tv);
  });

  it('row statistics of a uniform row: entropy log n, sink 1/n, distance (n-1)/2', async () => {
    // Zero queries give equal scores: every visible key has probability 1/n.
    const c: Case = { t: 4, tk: 4, nHeads: 1, nKvHeads: 1, headDim: 4, returnRowStats: true };
    const r = await checked(() => run(b(), new Float32Array(16), randn(7, 16), randn(8, 16), c));
    const want = [1, 2, 3, 4].flatMap((n) => [Math.log(n), 1 / n, (n - 1) / 2]);
    expectClose(r.rowStats!, Float32Array.from(want), TOL_REDUCTION);
  });

  it('equals plain-loop softmax(QKᵀ/√d + mask)·V (independent of the reference)', async () => {
    for (const c of [
      { t: 6, tk: 6, nHeads: 3, nKvHeads: 3, headDim: 4 },
      { t: 4, tk: 10, nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 5 },
    ]) {
      const { q, k, v } = inputs(c, 42);
      const got = await checked(() => run(b(), q, k, v, c));
      expectClose(got.out, naiveAttention(q, k, v, c), TOL_REDUCTION);
    }
  });

  it('rejects bad shapes with clear messages', () => {
    const be = b();
    const q = be.tensor<'f32'>(new Float32Array(2 * 16), [2, 16]);
    const k = be.tensor<'f32'>(new Float32Array(3 * 8), [3, 8]);
    const v = be.tensor<'f32'>(new Float32Array(3 * 8), [3, 8]);
    const v4 = be.tensor<'f32'>(new Float32Array(4 * 8), [4, 8]);
    try {
      const o = { nHeads: 2, nKvHeads: 1, headDim: 8 };
      expect(() => be.attention(q, k, v, { ...o, nHeads: 4 })).toThrow(/q must be \[T, 32\], got \[2, 16\]/);
      expect(() => be.attention(q, k, v, { ...o, nKvHeads: 2 })).toThrow(
        /k and v must be \[Tk, 16\], got \[3, 8\]/,
      );
      expect(() => be.attention(q, k, v4, o)).toThrow(/attention k\/v: shapes differ/);
      expect(() => be.attention(q, k, v, { ...o, pos0: 2 })).toThrow(/positions 2\.\.3 need 4 keys, got 3/);
      expect(() => be.attention(q, k, v, { nHeads: 3, nKvHeads: 2, headDim: 8 })).toThrow(
        /invalid heads: nHeads=3, nKvHeads=2/,
      );
    } finally {
      be.dispose(q, k, v, v4);
    }
  });
});
