import { expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { rmsnormCpu } from '../../kernels/rmsnorm.cpu';
import { describeBackends, expectClose, randn } from './harness';

const EPS = 1e-6;

/** float64 grouped RMSNorm written out directly (independent of rmsnormCpu's reshaping). */
function grouped(X: Float32Array, W: Float32Array, g: number, eps = EPS): Float64Array {
  const out = new Float64Array(X.length);
  for (let o = 0; o < X.length; o += g) {
    let ss = 0;
    for (let c = 0; c < g; c++) ss += X[o + c]! ** 2;
    const inv = 1 / Math.sqrt(ss / g + eps);
    for (let c = 0; c < g; c++) out[o + c] = X[o + c]! * inv * W[c]!;
  }
  return out;
}

/** [T, heads·hd] with groupSize hd: qk-norm of Qwen3 / OLMo-2-style heads, odd sizes, wide groups. */
const CASES: [rows: number, heads: number, hd: number][] = [
  [1, 1, 1],
  [5, 4, 64],
  [7, 3, 10],
  [2, 8, 128],
  [3, 2, 700], // 8 lanes per group
  [4, 5, 13],
];

describeBackends('rmsnorm groupSize', ({ b, checked }) => {
  async function run(
    X: Float32Array,
    W: Float32Array,
    shape: number[],
    groupSize?: number,
    eps = EPS,
  ): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(X, shape);
      const w = b().tensor(W, [W.length]);
      const y = b().rmsnorm(x, w, eps, groupSize === undefined ? undefined : { groupSize });
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(x, w, y);
      return r;
    });
  }

  it('normalizes each group of a hand-checked row separately', async () => {
    // [3, 4 | −6, 8] in groups of 2: mean squares 12.5 and 50; weight [1, 0.5] repeats per group.
    const s = Math.sqrt(12.5);
    const t = Math.sqrt(50);
    expectClose(
      await run(new Float32Array([3, 4, -6, 8]), new Float32Array([1, 0.5]), [1, 4], 2, 0),
      [3 / s, 2 / s, -6 / t, 4 / t],
      1e-7,
    );
  });

  for (const [rows, heads, hd] of CASES) {
    it(`matches per-group float64 RMSNorm on random [${rows}, ${heads}·${hd}], groupSize ${hd}`, async () => {
      const cols = heads * hd;
      const X = randn(rows * 7 + cols, rows * cols, 2);
      const W = randn(hd + 1, hd);
      const got = await run(X, W, [rows, cols], hd);
      expectClose(got, grouped(X, W, hd), 4e-6); // values up to ~10: a few f32 ulps (measured ≤ 1.3e-6)
      // The same as normalising x viewed as [rows·heads, hd] without groups, bit for bit.
      expectClose(await run(X, W, [rows * heads, hd]), got, 0);
      expectClose(
        got,
        cpu(rmsnormCpu(f32(X, [rows, cols]), f32(W, [hd]), EPS, { groupSize: hd })).data,
        4e-6,
      );
    });
  }

  it('with groupSize equal to the row width is the plain rmsnorm', async () => {
    const X = randn(9, 6 * 40);
    const W = randn(10, 40);
    expectClose(await run(X, W, [6, 40], 40), await run(X, W, [6, 40]), 0);
  });

  it('gives every group mean square 1 with unit weight, whatever its scale', async () => {
    const [rows, heads, hd] = [3, 4, 32];
    const X = randn(12, rows * heads * hd).map((v, i) => v * 10 ** ((Math.floor(i / hd) % 5) - 2));
    const y = await run(X, new Float32Array(hd).fill(1), [rows, heads * hd], hd, 1e-12);
    for (let g = 0; g < rows * heads; g++) {
      let ms = 0;
      for (let c = 0; c < hd; c++) ms += y[g * hd + c]! ** 2 / hd;
      expect(Math.abs(ms - 1), `group ${g} mean square ${ms}`).toBeLessThan(1e-5);
    }
  });

  it('rejects a groupSize that does not divide the row and a weight of another length', () => {
    const x = b().tensor(new Float32Array(24), [2, 12]);
    const w4 = b().tensor(new Float32Array(4), [4]);
    const w5 = b().tensor(new Float32Array(5), [5]);
    expect(() => b().rmsnorm(x, w5, EPS, { groupSize: 5 })).toThrow(
      /rmsnorm: groupSize 5 must be a positive integer dividing the row width 12/,
    );
    for (const g of [0, -4, 2.5]) {
      expect(() => b().rmsnorm(x, w4, EPS, { groupSize: g })).toThrow(
        /rmsnorm: groupSize .* must be a positive integer/,
      );
    }
    expect(() => b().rmsnorm(x, w5, EPS, { groupSize: 4 })).toThrow(
      /rmsnorm: weight has 5 elements, groups have 4/,
    );
    // Without groups the original message stands.
    expect(() => b().rmsnorm(x, w4, EPS)).toThrow(/rmsnorm: weight has 4 elements, rows have 12/);
    b().dispose(x, w4, w5);
  });
});
