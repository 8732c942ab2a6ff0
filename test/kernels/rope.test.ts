import { expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { ropeCpu } from '../../kernels/rope.cpu';
import { TOL_ELEMENTWISE, describeBackends, expectClose, randn } from './harness';

function reference(
  X: Float32Array,
  shape: number[],
  headDim: number,
  pos0: number,
  theta: number,
): Float32Array {
  return cpu(ropeCpu(f32(X, shape), headDim, pos0, theta)).data;
}

describeBackends('rope', ({ b, checked }) => {
  async function run(
    X: Float32Array,
    shape: number[],
    opts: { headDim: number; pos0?: number; theta?: number },
  ): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(X, shape);
      const y = b().rope(x, opts);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(x, y);
      return r;
    });
  }

  it('is the identity at position 0', async () => {
    const X = randn(1, 64);
    expectClose(await run(X, [1, 64], { headDim: 8 }), X, 0);
  });

  it('rotates each pair by pos · theta^(−2i/headDim)', async () => {
    // headDim 4, theta 100: pair 0 turns by pos rad, pair 1 by pos / 10 rad. Row r sits at pos0 + r.
    const X = new Float32Array([1, 0, 1, 0, 0, 2, 0, 2, 3, 4, 3, 4]);
    const got = await run(X, [1, 12], { headDim: 4, pos0: 3, theta: 100 });
    const rot = (x: number, y: number, a: number): number[] => [
      x * Math.cos(a) - y * Math.sin(a),
      x * Math.sin(a) + y * Math.cos(a),
    ];
    const expected = [
      rot(1, 0, 3),
      rot(1, 0, 0.3),
      rot(0, 2, 3),
      rot(0, 2, 0.3),
      rot(3, 4, 3),
      rot(3, 4, 0.3),
    ].flat();
    expectClose(got, expected, 1e-6);
    // With headDim 2 the only pair has freq 1 whatever theta (default 10000): row r turns by r rad.
    const rows = await run(new Float32Array([1, 0, 1, 0, 1, 0]), [3, 2], { headDim: 2 });
    expectClose(rows, [1, 0, Math.cos(1), Math.sin(1), Math.cos(2), Math.sin(2)], 1e-6);
  });

  for (const [rows, cols, headDim, pos0, theta] of [
    [1, 8, 8, 0, 10000],
    [1, 64, 8, 511, 10000],
    [7, 48, 8, 5, 10000],
    [512, 64, 8, 0, 10000], // stories260K: 8 heads of 8, T = 512
    [512, 32, 8, 0, 10000], // its 4 kv heads
    [33, 256, 128, 1000, 500000],
    [3, 6, 2, 60, 10],
  ] as const) {
    it(`matches the reference on random [${rows}, ${cols}], headDim ${headDim}, pos0 ${pos0}, theta ${theta}`, async () => {
      const X = randn(rows + cols + pos0, rows * cols);
      const got = await run(X, [rows, cols], { headDim, pos0, theta });
      expectClose(got, reference(X, [rows, cols], headDim, pos0, theta), TOL_ELEMENTWISE);
    });
  }

  // Independent of the reference: rotations keep every pair's length, and row r of a prefill
  // at pos0 equals that row alone at pos0 + r (how generation applies it, one token at a time).
  it('keeps pair norms and agrees with one-row-at-a-time application', async () => {
    const [rows, cols, headDim, pos0] = [40, 32, 16, 100];
    const X = randn(7, rows * cols);
    const all = await run(X, [rows, cols], { headDim, pos0 });
    for (let i = 0; i < X.length; i += 2) {
      expect(Math.hypot(all[i]!, all[i + 1]!)).toBeCloseTo(Math.hypot(X[i]!, X[i + 1]!), 5);
    }
    for (const r of [0, 1, 17, rows - 1]) {
      const one = await run(X.slice(r * cols, (r + 1) * cols), [1, cols], { headDim, pos0: pos0 + r });
      expectClose(one, all.subarray(r * cols, (r + 1) * cols), TOL_ELEMENTWISE, `row ${r}`);
    }
  });

  it('rejects a head size that is odd or does not divide the row, and a bad pos0', () => {
    const x = b().tensor(new Float32Array(24), [2, 12]);
    expect(() => b().rope(x, { headDim: 3 })).toThrow(
      /rope: headDim 3 must be even and divide the row width 12/,
    );
    expect(() => b().rope(x, { headDim: 8 })).toThrow(
      /rope: headDim 8 must be even and divide the row width 12/,
    );
    expect(() => b().rope(x, { headDim: 4, pos0: -1 })).toThrow(
      /rope: pos0 must be a non-negative integer, got -1/,
    );
    expect(() => b().rope(x, { headDim: 4, pos0: 1.5 })).toThrow(/pos0 must be a non-negative integer/);
    b().dispose(x);
  });
});
