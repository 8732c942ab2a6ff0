import { expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { TOPK_INSERT_MAX, topkChunks } from '../../kernels/topk';
import { describeBackends, randInt, randn } from './harness';

/** Run topk on `be`, read both results back and dispose every tensor it made. */
async function topk(be: Backend, x: Float32Array, shape: number[], k: number) {
  const t = be.tensor<'f32'>(x, shape);
  const r = be.topk(t, k);
  const out = { values: await be.read(r.values), indices: await be.read(r.indices), shape: r.values.shape };
  expect(r.indices.shape).toEqual(r.values.shape);
  expect(r.indices.dtype).toBe('i32');
  be.dispose(t, r.values, r.indices);
  return out;
}

/** Top-k by repeated selection with plain loops, independent of the kernels. */
function naiveTopk(x: Float32Array, cols: number, k: number): { values: number[]; indices: number[] } {
  const values: number[] = [];
  const indices: number[] = [];
  for (let r = 0; r < x.length / cols; r++) {
    const taken = new Set<number>();
    for (let j = 0; j < k; j++) {
      let best = -1;
      for (let c = 0; c < cols; c++) {
        // Strictly greater keeps the lower index among equal values.
        if (!taken.has(c) && (best < 0 || x[r * cols + c]! > x[r * cols + best]!)) best = c;
      }
      taken.add(best);
      values.push(x[r * cols + best]!);
      indices.push(best);
    }
  }
  return { values, indices };
}

describeBackends('topk', ({ b, checked }) => {
  it('picks [3, 3] at [0, 2] from [3, 1, 3, 2] (ties go to the lower index)', async () => {
    const r = await checked(() => topk(b(), new Float32Array([3, 1, 3, 2]), [1, 4], 2));
    expect(Array.from(r.values)).toEqual([3, 3]);
    expect(Array.from(r.indices)).toEqual([0, 2]);
    expect(r.shape).toEqual([1, 2]);
  });

  it('sorts whole rows, keeps leading dims and handles ±Infinity and -0', async () => {
    const x = new Float32Array([-1, Infinity, -Infinity, 0, -0, 5, 2, 2, 2, -Infinity, 2, Infinity]);
    const r = await checked(() => topk(b(), x, [2, 1, 6], 6));
    expect(r.shape).toEqual([2, 1, 6]);
    expect(Array.from(r.indices)).toEqual([1, 5, 3, 4, 0, 2, 5, 0, 1, 2, 4, 3]);
    expect(Array.from(r.values)).toEqual([
      Infinity,
      5,
      0,
      -0,
      -1,
      -Infinity,
      Infinity,
      2,
      2,
      2,
      2,
      -Infinity,
    ]);
  });

  it('returns the first k columns of a constant row, also when rows are split into chunks', async () => {
    for (const fill of [0, -Infinity, 7]) {
      const r = await checked(() => topk(b(), new Float32Array(2000).fill(fill), [1, 2000], 10));
      expect(Array.from(r.indices)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(Array.from(r.values)).toEqual(new Array(10).fill(fill));
    }
  });

  // Top-k only compares values (no arithmetic), so both backends agree exactly, even on near-ties.
  const cases: [name: string, rows: number, cols: number, k: number][] = [
    ['k=1', 5, 33, 1],
    ['SAE latents', 512, 512, 8],
    ['SAE latents', 128, 4096, 64],
    ['MoE router', 512, 8, 2],
    ['vocab', 1, 512, 10],
    ['vocab (chunked)', 1, 32000, 10],
    ['vocab, a few rows (chunked)', 8, 32000, 10],
    ['k=128', 4, 4096, 128],
    ['k=128 (chunked)', 1, 32768, 128],
    ['k=256, the largest heap', 2, 1000, 256],
    ['k=300 (rank program)', 3, 1000, 300],
    ['k=C (rank program)', 2, 400, 400],
  ];
  it('the cases below reach every program: one pass, chunks + merge, rank', () => {
    expect(topkChunks(512, 512, 8)).toBe(1);
    expect(topkChunks(128, 4096, 64)).toBeGreaterThan(1);
    expect(topkChunks(1, 32000, 10)).toBeGreaterThan(1);
    expect(topkChunks(8, 32000, 10)).toBeGreaterThan(1);
    expect(topkChunks(1, 32768, 128)).toBeGreaterThan(1);
    expect(topkChunks(1, 2000, 10)).toBeGreaterThan(1);
    expect(topkChunks(1, 5000, 40)).toBeGreaterThan(1);
    expect(TOPK_INSERT_MAX).toBe(256);
  });

  for (const [name, rows, cols, k] of cases) {
    it(`matches plain-loop selection exactly: ${name} [${rows}, ${cols}] k=${k}`, async () => {
      const x = randn(rows * 31 + cols + k, rows * cols);
      const expected = naiveTopk(x, cols, k);
      const got = await checked(() => topk(b(), x, [rows, cols], k));
      expect(got.shape).toEqual([rows, k]);
      expect(Array.from(got.indices)).toEqual(Array.from(expected.indices));
      expect(Array.from(got.values)).toEqual(Array.from(expected.values));
    });
  }

  it('orders many exact ties by index (few distinct values)', async () => {
    for (const [rows, cols, k] of [
      [16, 300, 20],
      [1, 5000, 40],
      [2, 600, 280],
    ] as const) {
      const x = Float32Array.from(randInt(rows + cols, rows * cols, 5), (v) => v - 2);
      const expected = naiveTopk(x, cols, k);
      const got = await checked(() => topk(b(), x, [rows, cols], k));
      expect(Array.from(got.indices)).toEqual(Array.from(expected.indices));
      expect(Array.from(got.values)).toEqual(Array.from(expected.values));
    }
  });

  it('equals repeated selection with plain loops (independent of the reference)', async () => {
    for (const [rows, cols, k, seed] of [
      [6, 50, 7, 1],
      [3, 40, 40, 2],
    ] as const) {
      const x = Float32Array.from(randn(seed, rows * cols), (v) => Math.round(v * 4) / 4);
      const got = await checked(() => topk(b(), x, [rows, cols], k));
      const want = naiveTopk(x, cols, k);
      expect(Array.from(got.indices)).toEqual(want.indices);
      expect(Array.from(got.values)).toEqual(want.values);
    }
  });

  it('rejects k outside [1, C] with a clear message', () => {
    const be = b();
    const x = be.tensor<'f32'>(new Float32Array(8), [2, 4]);
    try {
      expect(() => be.topk(x, 5)).toThrow(/topk: k=5 must be an integer in \[1, 4\]/);
      expect(() => be.topk(x, 0)).toThrow(/topk: k=0 must be an integer in \[1, 4\]/);
      expect(() => be.topk(x, 1.5)).toThrow(/topk: k=1.5 must be an integer/);
    } finally {
      be.dispose(x);
    }
  });
});
