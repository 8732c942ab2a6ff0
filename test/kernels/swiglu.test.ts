import { expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { swigluCpu } from '../../kernels/swiglu.cpu';
import { TOL_ELEMENTWISE, describeBackends, expectClose, randn } from './harness';

const silu = (g: number): number => g / (1 + Math.exp(-g));

describeBackends('swiglu', ({ b, checked }) => {
  async function run(G: Float32Array, U: Float32Array, shape: number[]): Promise<Float32Array> {
    return checked(async () => {
      const gate = b().tensor(G, shape);
      const up = b().tensor(U, shape);
      const y = b().swiglu(gate, up);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(gate, up, y);
      return r;
    });
  }

  it('computes hand-checked values', async () => {
    // A zero gate closes whatever comes up; silu(±1) = ±1 / (1 + e^∓1).
    const G = new Float32Array([0, 0, 1, -1, 2, 100, -100, -1000, 1000]);
    const U = new Float32Array([5, -3, 1, 1, -0.5, 2, 2, 7, 0.5]);
    const expected = [0, 0, 0.7310585786300049, -0.2689414213699951, -0.5 * silu(2), 200, 0, 0, 500];
    expectClose(await run(G, U, [3, 3]), expected, 1e-6);
  });

  it('never produces NaN or infinity for large gates', async () => {
    const G = new Float32Array([-3e38, -89, -88, 88, 89, 3e38]);
    const got = await run(G, new Float32Array(6).fill(1e-30), [6]);
    for (const v of got) expect(Number.isFinite(v), `${v}`).toBe(true);
  });

  for (const [rows, cols] of [
    [1, 1],
    [7, 173],
    [512, 172], // stories260K's FFN at T = 512
    [300, 1000],
  ] as const) {
    it(`matches the reference on random [${rows}, ${cols}]`, async () => {
      const G = randn(rows + cols, rows * cols, 3);
      const U = randn(rows * cols, rows * cols);
      const expected = cpu(swigluCpu(f32(G, [rows, cols]), f32(U, [rows, cols]))).data;
      expectClose(await run(G, U, [rows, cols]), expected, TOL_ELEMENTWISE);
    });
  }

  // Independent of the reference: silu(g) − silu(−g) = g·σ(g) + g·σ(−g) = g.
  it('satisfies silu(g) − silu(−g) = g', async () => {
    const G = randn(3, 2000, 4);
    const ones = new Float32Array(G.length).fill(1);
    const pos = await run(G, ones, [G.length]);
    const neg = await run(
      G.map((g) => -g),
      ones,
      [G.length],
    );
    expectClose(
      pos.map((p, i) => p - neg[i]!),
      G,
      TOL_ELEMENTWISE,
    );
  });

  it('spreads more than 65535 workgroups over x and y', async () => {
    const n = 65536 * 256 + 1000; // one more workgroup of 256 than one dimension holds, and a partial one
    const G = new Float32Array(n).map((_, i) => ((i % 13) - 6) / 2);
    const U = new Float32Array(n).map((_, i) => (i % 7) - 3);
    const got = await run(G, U, [n]);
    for (const i of [0, 1, 12345, 65535 * 256 - 1, 65535 * 256, 65536 * 256 + 3, n - 1]) {
      expect(got[i], `element ${i}`).toBeCloseTo(silu(G[i]!) * U[i]!, 5);
    }
  });

  it('rejects mismatched shapes', () => {
    const g = b().tensor(new Float32Array(6), [2, 3]);
    const u = b().tensor(new Float32Array(6), [3, 2]);
    expect(() => b().swiglu(g, u)).toThrow(/swiglu: shapes differ: \[2, 3\] vs \[3, 2\]/);
    b().dispose(g, u);
  });
});
