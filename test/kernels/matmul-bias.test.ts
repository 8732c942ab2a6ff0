import { describe, expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { matmulGpu, type MatmulVariant } from '../../kernels/matmul';
import { matmulCpu } from '../../kernels/matmul.cpu';
import { describeBackends, expectClose, randn, useWebGpu } from './harness';

/**
 * Tolerance against the reference (float64 sums + bias, rounded once): the GPU's f32 sums of K ≤ 173
 * products of order 1/√K, plus a bias of order 1, stay within a few ulps (measured ≤ 1.3e-6 on
 * SwiftShader), far inside TOL_REDUCTION.
 */
const TOL = 5e-6;

function reference(
  A: Float32Array,
  B: Float32Array,
  bias: Float32Array | undefined,
  m: number,
  k: number,
  n: number,
  transposeB: boolean,
  transposeA = false,
): Float32Array {
  const a = f32(A, transposeA ? [k, m] : [m, k]);
  const b = f32(B, transposeB ? [n, k] : [k, n]);
  return cpu(matmulCpu(a, b, transposeB, transposeA, bias && f32(bias, [n]))).data;
}

/** [M, K, N]: gemv rows (M < 4), the blocked kernels, N not a multiple of 4, K = 0. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 64, 33],
  [3, 17, 10],
  [4, 5, 4],
  [7, 173, 33],
  [33, 65, 7],
  [64, 96, 70],
];

describeBackends('matmul bias', ({ b, checked }) => {
  async function run(
    A: Float32Array,
    aShape: number[],
    B: Float32Array,
    bShape: number[],
    bias: Float32Array | undefined,
    opts: { transposeA?: boolean; transposeB?: boolean },
  ): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(A, aShape);
      const y = b().tensor(B, bShape);
      const c = bias && b().tensor(bias, [bias.length]);
      const z = b().matmul(x, y, { ...opts, bias: c });
      const r = await b().read(z);
      b().dispose(x, y, c, z);
      return r;
    });
  }

  it('adds a hand-checked bias to every row (both layouts of b)', async () => {
    const A = new Float32Array([1, 2, 3, 4]);
    const bias = new Float32Array([10, -20]);
    expect(Array.from(await run(A, [2, 2], new Float32Array([5, 6, 7, 8]), [2, 2], bias, {}))).toEqual([
      29, 2, 53, 30,
    ]);
    expect(
      Array.from(await run(A, [2, 2], new Float32Array([5, 7, 6, 8]), [2, 2], bias, { transposeB: true })),
    ).toEqual([29, 2, 53, 30]);
    // Enough rows for the blocked kernels: a ones matrix gives row sums, plus the bias.
    const m = 9;
    const X = Float32Array.from({ length: m * 3 }, (_, i) => (i % 7) - 3);
    const bias5 = new Float32Array([1, 2, 3, 4, 5]);
    const expected = Array.from({ length: m * 5 }, (_, i) => {
      const r = Math.floor(i / 5);
      return X[r * 3]! + X[r * 3 + 1]! + X[r * 3 + 2]! + bias5[i % 5]!;
    });
    const ones = new Float32Array(15).fill(1);
    expect(Array.from(await run(X, [m, 3], ones, [3, 5], bias5, {}))).toEqual(expected);
    expect(Array.from(await run(X, [m, 3], ones, [5, 3], bias5, { transposeB: true }))).toEqual(expected);
  });

  it('gives the bias on every row for an empty inner dimension', async () => {
    for (const m of [2, 8]) {
      const bias = new Float32Array([1.5, -2, 3]);
      const rows = Array.from({ length: m }, () => Array.from(bias)).flat();
      expect(
        Array.from(await run(new Float32Array(0), [m, 0], new Float32Array(0), [0, 3], bias, {})),
      ).toEqual(rows);
      expect(
        Array.from(
          await run(new Float32Array(0), [m, 0], new Float32Array(0), [3, 0], bias, { transposeB: true }),
        ),
      ).toEqual(rows);
    }
  });

  for (const [m, k, n] of SHAPES) {
    for (const layout of ['b', 'bᵀ', 'aᵀ'] as const) {
      it(`matches the reference with bias on [${m}, ${k}] × [${k}, ${n}] (${layout})`, async () => {
        const transposeB = layout === 'bᵀ';
        const transposeA = layout === 'aᵀ';
        const A = randn(m * 31 + k, m * k, 1 / Math.sqrt(Math.max(k, 1)));
        const B = randn(k * 7 + n, k * n);
        const bias = randn(n + 5, n);
        const got = await run(A, transposeA ? [k, m] : [m, k], B, transposeB ? [n, k] : [k, n], bias, {
          transposeA,
          transposeB,
        });
        const ref = reference(A, B, bias, m, k, n, transposeB, transposeA);
        expectClose(got, ref, TOL);
        // The same as the bias-free product plus the bias (one more f32 rounding there).
        const plain = await run(A, transposeA ? [k, m] : [m, k], B, transposeB ? [n, k] : [k, n], undefined, {
          transposeA,
          transposeB,
        });
        expectClose(
          got,
          plain.map((v, i) => v + bias[i % n]!),
          TOL,
        );
      });
    }
  }

  it('leaves results without a bias unchanged', async () => {
    const [m, k, n] = [7, 173, 33];
    const A = randn(1, m * k, 0.1);
    const B = randn(2, k * n);
    expectClose(
      await run(A, [m, k], B, [n, k], undefined, { transposeB: true }),
      reference(A, B, undefined, m, k, n, true),
      TOL,
    );
    if (b().kind === 'cpu') {
      // The CPU's blocked sums are exactly the old ones (the epilogue adds +0 without a bias).
      expectClose(
        await run(A, [m, k], B, [n, k], undefined, { transposeB: true }),
        reference(A, B, new Float32Array(n), m, k, n, true),
        0,
      );
    }
  });

  it('rejects a bias without one value per output column', () => {
    const x = b().tensor(new Float32Array(6), [2, 3]);
    const y = b().tensor(new Float32Array(12), [3, 4]);
    const c = b().tensor(new Float32Array(3), [3]);
    expect(() => b().matmul(x, y, { bias: c })).toThrow(
      /matmul: bias has 3 elements, expected one per output column \(4\)/,
    );
    b().dispose(x, y, c);
  });
});

/** Every kernel of matmul.wgsl with a bias, forced (the automatic choice depends on the adapter). */
describe('matmul bias variants [webgpu]', () => {
  const gpu = useWebGpu();
  const VARIANTS: MatmulVariant[] = [
    { kernel: 'tiled', sm: 8, sn: 8, tk: 32 },
    { kernel: 'tiled', sm: 4, sn: 8, tk: 16 },
    { kernel: 'direct', wg: 64 },
    { kernel: 'gemv', wg: 64 },
  ];

  for (const v of VARIANTS) {
    it(`${JSON.stringify(v)} adds the bias, tile edges included`, async () => {
      for (const [m, k, n] of [
        [5, 19, 37],
        [40, 33, 70],
      ] as const) {
        for (const [transposeA, transposeB] of [
          [false, false],
          [false, true],
          [true, false],
        ] as const) {
          const A = randn(m + k, m * k, 0.2);
          const B = randn(k + n, k * n);
          const bias = randn(n, n);
          const got = await gpu().ctx.checked(async () => {
            const a = gpu().tensor(A, transposeA ? [k, m] : [m, k]);
            const bb = gpu().tensor(B, transposeB ? [n, k] : [k, n]);
            const c = gpu().tensor(bias, [n]);
            const z = matmulGpu(gpu().ctx, a, bb, transposeB, v, transposeA, c);
            const r = await gpu().read(z);
            gpu().dispose(a, bb, c, z);
            return r;
          });
          expectClose(
            got,
            reference(A, B, bias, m, k, n, transposeB, transposeA),
            TOL,
            `[${m}, ${k}, ${n}] a${transposeA ? 'ᵀ' : ''} b${transposeB ? 'ᵀ' : ''}`,
          );
        }
      }
    });
  }
});
