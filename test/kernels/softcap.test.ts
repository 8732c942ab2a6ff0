import { expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { softcapCpu } from '../../kernels/softcap.cpu';
import { describeBackends, expectClose, randn } from './harness';
import { expectRelClose } from './rel-close';

/** cap·tanh(x/cap) from mpmath at 40 digits, of x as rounded to float32 (1e-3 → 0.0010000000474974513). */
const HAND: [cap: number, x: number, y: number][] = [
  [30, 50, 27.93328826002733],
  [30, 1, 0.9996297941646859],
  [30, 1e-3, 0.001000000047127081],
  [50, -200, -49.966464986953355],
  [15, 45, 14.925821305300957],
  [30, -1e4, -30],
  [30, 0, 0],
  [30, 3e38, 30],
  [30, -3e38, -30],
];

describeBackends('softcap', ({ b, checked }) => {
  async function run(X: Float32Array, shape: number[], cap: number): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(X, shape);
      const y = b().softcap(x, cap);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(x, y);
      return r;
    });
  }

  it('computes hand-checked values, large |x| included', async () => {
    for (const [cap, x, y] of HAND) {
      const got = await run(Float32Array.from([x]), [1], cap);
      expect(Number.isFinite(got[0]!)).toBe(true);
      expectRelClose(got, [y], 2e-7, 1e-30, `cap ${cap}, x ${x}`);
    }
  });

  for (const cap of [30, 50, 1]) {
    it(`matches the float64 reference on a sweep of [−12·cap, 12·cap], tiny and random values (cap ${cap})`, async () => {
      const xs: number[] = [];
      for (let i = -12 * 256; i <= 12 * 256; i++) xs.push((i / 256) * cap);
      for (let e = -38; e <= -1; e++) xs.push(10 ** e, -(10 ** e));
      xs.push(...randn(cap, 3000, cap));
      const X = Float32Array.from(xs);
      const got = await run(X, [X.length], cap);
      const exact = Array.from(X, (x) => cap * Math.tanh(x / cap));
      if (b().kind === 'cpu') {
        expectClose(got, cpu(softcapCpu(f32(X, [X.length]), cap)).data, 0);
        expectRelClose(got, exact, 2 ** -24, 2 ** -126);
      } else {
        // x/cap, the tanh (< 1.5e-7 relative) and the product, each rounded in f32; the GPU may
        // flush denormals (x/cap below 1.2e-38) to 0, hence the absolute floor.
        expectRelClose(got, exact, 4e-7, 1e-30); // measured ≤ 2.8e-7 on SwiftShader
      }
      for (const v of got) expect(Math.abs(v)).toBeLessThanOrEqual(cap);
    });
  }

  it('is odd and the identity to first order near 0', async () => {
    const X = randn(3, 2000, 40);
    const pos = await run(X, [X.length], 30);
    const neg = await run(
      X.map((v) => -v),
      [X.length],
      30,
    );
    expectClose(
      pos.map((v, i) => v + neg[i]!),
      new Float32Array(X.length),
      0,
    );
    const tiny = Float32Array.from([1e-20, -3e-12, 1e-6]);
    expectRelClose(await run(tiny, [3], 30), tiny, 2e-7, 0);
  });

  it('handles empty tensors', async () => {
    expect(Array.from(await run(new Float32Array(0), [0, 3], 30))).toEqual([]);
  });

  it('rejects a cap that is not a finite number > 0', () => {
    const x = b().tensor(new Float32Array(4), [2, 2]);
    for (const cap of [0, -1, NaN, Infinity]) {
      expect(() => b().softcap(x, cap)).toThrow(/softcap: cap must be a finite number > 0, got/);
    }
    b().dispose(x);
  });
});
