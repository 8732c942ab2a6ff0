import { expect, it } from 'vitest';
import type { Backend, MoeRouteOptions } from '../../kernels/backend';
import { TOL_ELEMENTWISE, describeBackends, expectClose, randInt, randn } from './harness';

/** Run moeRoute on `be`, read the three results back and dispose every tensor it made. */
async function route(be: Backend, logits: Float32Array, shape: number[], o: MoeRouteOptions) {
  const x = be.tensor<'f32'>(logits, shape);
  const r = be.moeRoute(x, o);
  expect(r.experts.dtype).toBe('i32');
  expect(r.experts.shape).toEqual([shape[0], o.topK]);
  expect(r.gates.shape).toEqual([shape[0], o.topK]);
  expect(r.probs.shape).toEqual(shape);
  const out = {
    experts: Array.from(await be.read(r.experts)),
    gates: await be.read(r.gates),
    probs: await be.read(r.probs),
  };
  be.dispose(x, r.experts, r.gates, r.probs);
  return out;
}

/** The router written out with plain loops and doubles, independent of both backends. */
function naiveRoute(logits: Float32Array, E: number, o: MoeRouteOptions) {
  const t = o.temperature ?? 1;
  const off = new Set(o.disabled ?? []);
  const experts: number[] = [];
  const gates: number[] = [];
  const probs: number[] = [];
  for (let r = 0; r < logits.length / E; r++) {
    const z = Array.from({ length: E }, (_, e) => (off.has(e) ? -Infinity : logits[r * E + e]! / t));
    const m = Math.max(...z);
    const ex = z.map((v) => Math.exp(v - m));
    const s = ex.reduce((a, b) => a + b, 0);
    const p = ex.map((v) => v / s);
    probs.push(...p);
    const chosen: number[] = [];
    for (let j = 0; j < o.topK; j++) {
      let best = -1;
      for (let e = 0; e < E; e++) {
        if (chosen.includes(e) || off.has(e)) continue;
        const key = p[e]! + (o.bias?.[e] ?? 0);
        if (best < 0 || key > p[best]! + (o.bias?.[best] ?? 0)) best = e;
      }
      chosen.push(best);
    }
    const total = chosen.reduce((a, e) => a + p[e]!, 0);
    experts.push(...chosen);
    gates.push(...chosen.map((e) => (o.normTopKProb ? p[e]! / total : p[e]!)));
  }
  return { experts, gates, probs };
}

describeBackends('moeRoute', ({ b, checked }) => {
  const softmax = (v: number[]) => {
    const ex = v.map((x) => Math.exp(x - Math.max(...v)));
    const s = ex.reduce((a, c) => a + c, 0);
    return ex.map((x) => x / s);
  };

  it('routes a hand-checked row: top-2 of softmax, with and without renormalisation', async () => {
    const logits = new Float32Array([1, 2, 3, 0]);
    const p = softmax([1, 2, 3, 0]);
    const raw = await checked(() => route(b(), logits, [1, 4], { topK: 2, normTopKProb: false }));
    expect(raw.experts).toEqual([2, 1]);
    expectClose(raw.probs, p, TOL_ELEMENTWISE);
    expectClose(raw.gates, [p[2]!, p[1]!], TOL_ELEMENTWISE);
    const norm = await checked(() => route(b(), logits, [1, 4], { topK: 2, normTopKProb: true }));
    expect(norm.experts).toEqual([2, 1]);
    expectClose(norm.gates, [p[2]! / (p[1]! + p[2]!), p[1]! / (p[1]! + p[2]!)], TOL_ELEMENTWISE);
  });

  it('breaks ties by the lower expert index (equal logits, also with k = E)', async () => {
    const r = await checked(() =>
      route(b(), new Float32Array([5, 1, 5, 5]), [1, 4], { topK: 2, normTopKProb: true }),
    );
    expect(r.experts).toEqual([0, 2]);
    expectClose(r.gates, [0.5, 0.5], TOL_ELEMENTWISE);
    const all = await checked(() =>
      route(b(), new Float32Array(6).fill(0.5), [1, 6], { topK: 6, normTopKProb: false }),
    );
    expect(all.experts).toEqual([0, 1, 2, 3, 4, 5]);
    expectClose(all.gates, new Array(6).fill(1 / 6), TOL_ELEMENTWISE);
  });

  it('k = E lists every expert by probability; the gates are the probabilities (sum 1 either way)', async () => {
    const logits = new Float32Array([0.3, -1, 2, 0.9, 0.1]);
    for (const normTopKProb of [false, true]) {
      const r = await checked(() => route(b(), logits, [1, 5], { topK: 5, normTopKProb }));
      expect(r.experts).toEqual([2, 3, 0, 4, 1]);
      expectClose(
        r.gates,
        r.experts.map((e) => r.probs[e]!),
        TOL_ELEMENTWISE,
      );
      expect(Array.from(r.gates).reduce((a, c) => a + c, 0)).toBeCloseTo(1, 5);
    }
  });

  it('k = 1 picks the argmax; renormalised, its gate is exactly 1', async () => {
    const logits = new Float32Array([0, 4, 1, -2, 3, 3]);
    const r = await checked(() => route(b(), logits, [2, 3], { topK: 1, normTopKProb: true }));
    expect(r.experts).toEqual([1, 1]);
    expect(Array.from(r.gates)).toEqual([1, 1]);
  });

  it('disabled experts get probability 0, are never chosen, and the rest renormalise', async () => {
    const logits = new Float32Array([3, 2, 1, 0, 9, -9, 0, 0]);
    const r = await checked(() =>
      route(b(), logits, [2, 4], { topK: 2, normTopKProb: false, disabled: [0, 2] }),
    );
    expect(r.experts).toEqual([1, 3, 3, 1]);
    const p = softmax([2, 0]);
    const q = softmax([-9, 0]);
    expectClose(r.probs, [0, p[0]!, 0, p[1]!, 0, q[0]!, 0, q[1]!], TOL_ELEMENTWISE);
    expectClose(r.gates, [p[0]!, p[1]!, q[1]!, q[0]!], TOL_ELEMENTWISE);
  });

  it('bias changes which experts are chosen, not the gates (aux-loss-free balancing)', async () => {
    const logits = new Float32Array([2, 1, 0, 0]);
    const p = softmax([2, 1, 0, 0]);
    const r = await checked(() =>
      route(b(), logits, [1, 4], { topK: 2, normTopKProb: false, bias: [0, 0, 0, 1] }),
    );
    expect(r.experts).toEqual([3, 0]);
    expectClose(r.gates, [p[3]!, p[0]!], TOL_ELEMENTWISE);
    expectClose(r.probs, p, TOL_ELEMENTWISE); // probabilities ignore the bias
  });

  it('temperature scales the logits before the softmax (higher → flatter)', async () => {
    const logits = new Float32Array([1, 2, 3, 0]);
    for (const temperature of [0.25, 1, 4]) {
      const r = await checked(() =>
        route(b(), logits, [1, 4], { topK: 2, normTopKProb: false, temperature }),
      );
      expectClose(r.probs, softmax([1, 2, 3, 0].map((v) => v / temperature)), TOL_ELEMENTWISE);
      expect(r.experts).toEqual([2, 1]);
    }
  });

  it('T = 1 and T = 0 rows', async () => {
    const one = await checked(() =>
      route(b(), new Float32Array([0, 1]), [1, 2], { topK: 1, normTopKProb: false }),
    );
    expect(one.experts).toEqual([1]);
    const none = await checked(() =>
      route(b(), new Float32Array(0), [0, 8], { topK: 2, normTopKProb: true }),
    );
    expect(none.experts).toEqual([]);
  });

  // [rows, E, k]; Mixtral is 8 experts, top-2.
  for (const [rows, E, k] of [
    [1, 8, 2],
    [37, 8, 2],
    [64, 16, 4],
    [130, 8, 1],
    [9, 3, 3],
  ] as const) {
    for (const normTopKProb of [false, true]) {
      it(`matches plain loops [${rows}, ${E}] k=${k} renorm=${normTopKProb}`, async () => {
        const logits = randn(rows * E + k, rows * E, 2);
        const o: MoeRouteOptions = { topK: k, normTopKProb, temperature: 0.7, bias: randn(E, E, 0.05) };
        const want = naiveRoute(logits, E, o);
        const got = await checked(() => route(b(), logits, [rows, E], o));
        expect(got.experts).toEqual(want.experts);
        expectClose(got.gates, want.gates, TOL_ELEMENTWISE, 'gates');
        expectClose(got.probs, want.probs, TOL_ELEMENTWISE, 'probs');
      });
    }
  }

  it('matches plain loops with disabled experts and many exact ties', async () => {
    const [rows, E] = [20, 8];
    const logits = Float32Array.from(randInt(5, rows * E, 3), (v) => v - 1);
    const o: MoeRouteOptions = { topK: 3, normTopKProb: true, disabled: [1, 6] };
    const got = await checked(() => route(b(), logits, [rows, E], o));
    const naive = naiveRoute(logits, E, o);
    expect(got.experts).toEqual(naive.experts);
    expectClose(got.gates, naive.gates, TOL_ELEMENTWISE);
    expectClose(got.probs, naive.probs, TOL_ELEMENTWISE);
    expect(got.experts.some((e) => e === 1 || e === 6)).toBe(false);
  });

  it('rejects bad options with clear messages', () => {
    const be = b();
    const x = be.tensor<'f32'>(new Float32Array(8), [2, 4]);
    const v = be.tensor<'f32'>(new Float32Array(8), [8]);
    try {
      const r = (o: Partial<MoeRouteOptions>) => () => be.moeRoute(x, { topK: 2, normTopKProb: true, ...o });
      expect(r({ topK: 5 })).toThrow(/moeRoute: topK=5 must be an integer in \[1, 4\]/);
      expect(r({ topK: 0 })).toThrow(/topK=0 must be an integer/);
      expect(r({ topK: 3, disabled: [0, 1] })).toThrow(/topK=3 but only 2 of 4 experts are enabled/);
      expect(r({ disabled: [4] })).toThrow(/disabled expert 4 is not an expert index in \[0, 4\)/);
      expect(r({ temperature: 0 })).toThrow(/temperature 0 must be a finite number > 0/);
      expect(r({ temperature: -1 })).toThrow(/temperature -1/);
      expect(r({ bias: [1, 2, 3] })).toThrow(/bias has 3 entries, expected one per expert \(4\)/);
      expect(r({ bias: [0, NaN, 0, 0] })).toThrow(/bias\[1\] = NaN is not finite/);
      expect(() => be.moeRoute(v, { topK: 1, normTopKProb: true })).toThrow(
        /logits must be \[T, E\], got \[8\]/,
      );
    } finally {
      be.dispose(x, v);
    }
  });
});
