import { expect, it } from 'vitest';
import { maskWords, packMask } from '../../kernels/apply-mask.cpu';
import { describeBackends, randn, rng } from './harness';

describeBackends('applyMask', ({ b, checked }) => {
  async function masked(w: Float32Array, shape: number[], keep: Uint8Array): Promise<Float32Array> {
    return checked(async () => {
      const wt = b().tensor(w, shape);
      const m = b().tensor(packMask(keep), [maskWords(w.length)]);
      const out = b().applyMask(wt, m);
      const r = await b().read(out);
      // The dense weight stays intact: a sweep re-applies other masks to the same tensor.
      expect(Array.from(await b().read(wt))).toEqual(Array.from(w));
      b().dispose(wt, m, out);
      return r;
    });
  }

  it('zeros exactly the entries whose bit is 0, across word boundaries', async () => {
    const w = Float32Array.from({ length: 70 }, (_, i) => i + 1);
    const keep = Uint8Array.from({ length: 70 }, (_, i) => (i % 3 === 0 || i === 31 || i === 32 ? 1 : 0));
    const got = await masked(w, [7, 10], keep);
    expect(Array.from(got)).toEqual(Array.from(w, (x, i) => (keep[i] ? x : 0)));
  });

  for (const [rows, cols, density] of [
    [1, 1, 1],
    [64, 64, 0.5],
    [172, 64, 0.1],
    [384, 128, 0.9],
  ] as const) {
    it(`matches w ⊙ mask on random [${rows}, ${cols}] at density ${density}`, async () => {
      const w = randn(rows + cols, rows * cols);
      const r = rng(rows * 31 + cols);
      const keep = Uint8Array.from({ length: w.length }, () => (r() < density ? 1 : 0));
      const got = await masked(w, [rows, cols], keep);
      expect(Array.from(got)).toEqual(Array.from(w, (x, i) => (keep[i] ? x : 0)));
    });
  }

  it('refuses a mask of the wrong size', async () => {
    const wt = b().tensor(new Float32Array(64), [8, 8]);
    const m = b().tensor(new Int32Array(3), [3]);
    expect(() => b().applyMask(wt, m)).toThrow(
      /applyMask: the mask must be 2 i32 words for a \[8, 8\] weight/,
    );
    b().dispose(wt, m);
  });
});
