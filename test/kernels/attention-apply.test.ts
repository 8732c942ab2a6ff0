import { expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { TOL_REDUCTION, describeBackends, expectClose, randn, rng } from './harness';

interface Heads {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
}

/** Run attentionApply on `be`, read z back and dispose every tensor it made. */
async function apply(be: Backend, probs: Float32Array, v: Float32Array, t: number, tk: number, o: Heads) {
  const p = be.tensor<'f32'>(probs, [o.nHeads, t, tk]);
  const tv = be.tensor<'f32'>(v, [tk, o.nKvHeads * o.headDim]);
  const z = be.attentionApply(p, tv, o);
  const out = await be.read(z);
  be.dispose(p, tv, z);
  return out;
}

/** Random rows of non-negative weights summing to 1, over every key (not causal: a replaced pattern). */
function randomPattern(seed: number, rows: number, tk: number): Float32Array {
  const r = rng(seed);
  const p = new Float32Array(rows * tk);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = 0; j < tk; j++) sum += p[i * tk + j] = r() < 0.3 ? 0 : r();
    for (let j = 0; j < tk; j++) p[i * tk + j]! /= sum || 1;
  }
  return p;
}

/** probs × v per head with plain loops, independent of the kernels. */
function naiveApply(
  probs: Float32Array,
  v: Float32Array,
  c: { t: number; tk: number; nHeads: number; nKvHeads: number; headDim: number },
): Float32Array {
  const expected = new Float32Array(c.t * c.nHeads * c.headDim);
  for (let h = 0; h < c.nHeads; h++) {
    const g = Math.floor(h / (c.nHeads / c.nKvHeads));
    for (let i = 0; i < c.t; i++) {
      for (let d = 0; d < c.headDim; d++) {
        let s = 0;
        for (let j = 0; j < c.tk; j++) {
          s += probs[(h * c.t + i) * c.tk + j]! * v[j * c.nKvHeads * c.headDim + g * c.headDim + d]!;
        }
        expected[i * c.nHeads * c.headDim + h * c.headDim + d] = s;
      }
    }
  }
  return expected;
}

describeBackends('attentionApply', ({ b, checked }) => {
  it('one-hot rows select value rows; uniform rows average them', async () => {
    // 1 head, hd 2, T 2, Tk 3: row 0 picks key 2, row 1 averages all keys.
    const probs = new Float32Array([0, 0, 1, 1 / 3, 1 / 3, 1 / 3]);
    const v = new Float32Array([1, 10, 2, 20, 6, 60]);
    const z = await checked(() => apply(b(), probs, v, 2, 3, { nHeads: 1, nKvHeads: 1, headDim: 2 }));
    expectClose(z, [6, 60, 3, 30], 1e-5);
  });

  it('grouped heads read their KV head', async () => {
    // 4 heads over 2 KV heads, hd 1, T 1, Tk 2: heads 0, 1 → v column 0; heads 2, 3 → column 1.
    const probs = new Float32Array([1, 0, 0, 1, 0.5, 0.5, 0.25, 0.75]);
    const v = new Float32Array([1, 100, 3, 300]);
    const z = await checked(() => apply(b(), probs, v, 1, 2, { nHeads: 4, nKvHeads: 2, headDim: 1 }));
    expectClose(z, [1, 3, 200, 250], 1e-4);
  });

  const cases = [
    { name: 'T=1', t: 1, tk: 1, nHeads: 8, nKvHeads: 4, headDim: 8 },
    { name: 'T=7 grouped', t: 7, tk: 7, nHeads: 8, nKvHeads: 4, headDim: 8 },
    { name: 'T=33 MHA', t: 33, tk: 33, nHeads: 4, nKvHeads: 4, headDim: 8 },
    { name: 'T=512 stories260K', t: 512, tk: 512, nHeads: 8, nKvHeads: 4, headDim: 8 },
    { name: 'T=1 over a 301-key cache', t: 1, tk: 301, nHeads: 8, nKvHeads: 4, headDim: 8 },
    { name: 'hd=64 T=33 grouped', t: 33, tk: 40, nHeads: 4, nKvHeads: 2, headDim: 64 },
    { name: 'hd=6', t: 9, tk: 12, nHeads: 4, nKvHeads: 1, headDim: 6 },
  ];
  for (const [n, c] of cases.entries()) {
    it(`matches plain loops: ${c.name}`, async () => {
      const probs = randomPattern(200 + n, c.nHeads * c.t, c.tk);
      const v = randn(300 + n, c.tk * c.nKvHeads * c.headDim);
      const expected = naiveApply(probs, v, c);
      const got = await checked(() => apply(b(), probs, v, c.t, c.tk, c));
      expectClose(got, expected, TOL_REDUCTION);
    });
  }

  it('applied to attention’s own probabilities it gives attention’s output', async () => {
    const c = { t: 17, tk: 24, nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 7 };
    const be = b();
    const z = await checked(async () => {
      const q = be.tensor<'f32'>(randn(1, c.t * c.nHeads * c.headDim), [c.t, c.nHeads * c.headDim]);
      const k = be.tensor<'f32'>(randn(2, c.tk * c.nKvHeads * c.headDim), [c.tk, c.nKvHeads * c.headDim]);
      const v = be.tensor<'f32'>(randn(3, c.tk * c.nKvHeads * c.headDim), [c.tk, c.nKvHeads * c.headDim]);
      const att = be.attention(q, k, v, { ...c, returnProbs: true });
      const applied = be.attentionApply(att.probs!, v, c);
      const r = { out: await be.read(att.out), applied: await be.read(applied) };
      be.dispose(q, k, v, att.out, att.probs, applied);
      return r;
    });
    expectClose(z.applied, z.out, TOL_REDUCTION);
  });

  it('equals a plain-loop probs × v (independent of the reference)', async () => {
    const c = { t: 5, tk: 9, nHeads: 6, nKvHeads: 3, headDim: 4 };
    const probs = randomPattern(9, c.nHeads * c.t, c.tk);
    const v = randn(10, c.tk * c.nKvHeads * c.headDim);
    const expected = naiveApply(probs, v, c);
    const got = await checked(() => apply(b(), probs, v, c.t, c.tk, c));
    expectClose(got, expected, TOL_REDUCTION);
  });

  it('rejects bad shapes with clear messages', () => {
    const be = b();
    const p = be.tensor<'f32'>(new Float32Array(2 * 3 * 4), [2, 3, 4]);
    const p2 = be.tensor<'f32'>(new Float32Array(2 * 12), [2, 12]);
    const v = be.tensor<'f32'>(new Float32Array(4 * 8), [4, 8]);
    const v3 = be.tensor<'f32'>(new Float32Array(3 * 8), [3, 8]);
    const vr3 = be.tensor<'f32'>(new Float32Array(4 * 8), [4, 8, 1]);
    try {
      const o = { nHeads: 2, nKvHeads: 1, headDim: 8 };
      expect(() => be.attentionApply(p2, v, o)).toThrow(/probs must be \[2, T, Tk\], got \[2, 12\]/);
      expect(() => be.attentionApply(p, v, { ...o, nHeads: 4 })).toThrow(
        /probs must be \[4, T, Tk\], got \[2, 3, 4\]/,
      );
      expect(() => be.attentionApply(p, v3, o)).toThrow(/v must be \[4, 8\], got \[3, 8\]/);
      expect(() => be.attentionApply(p, v, { ...o, headDim: 4 })).toThrow(/v must be \[4, 4\], got \[4, 8\]/);
      expect(() => be.attentionApply(p, vr3, o)).toThrow(/v must be \[4, 8\], got \[4, 8, 1\]/);
      expect(() => be.attentionApply(p, v, { nHeads: 2, nKvHeads: 3, headDim: 8 })).toThrow(/invalid heads/);
    } finally {
      be.dispose(p, p2, v, v3, vr3);
    }
  });
});
