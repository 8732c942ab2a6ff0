import { describe, expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { matmulGpu, matmulVariant, type MatmulVariant } from '../../kernels/matmul';
import { matmulCpu } from '../../kernels/matmul.cpu';
import { TOL_REDUCTION, describeBackends, expectClose, randn, useWebGpu } from './harness';

/** Host-side transpose of a row-major [rows, cols] matrix. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

/** Seeded operands with outputs of order 1: a ~ N(0, 1/√K), b ~ N(0, 1). */
function operands(m: number, k: number, n: number, seed: number): { A: Float32Array; B: Float32Array } {
  return { A: randn(seed, m * k, 1 / Math.sqrt(Math.max(k, 1))), B: randn(seed + 1, k * n) };
}

function reference(
  A: Float32Array,
  B: Float32Array,
  m: number,
  k: number,
  n: number,
  transposeB: boolean,
): Float32Array {
  return cpu(matmulCpu(f32(A, [m, k]), f32(B, transposeB ? [n, k] : [k, n]), transposeB)).data;
}

/** Shapes [M, K, N]: 1s, GEMV (T = 1, vocab-wide), non-multiples of every tile, K = 2048, T = 512. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 64, 512],
  [1, 64, 32000],
  [3, 64, 172],
  [4, 5, 4],
  [7, 173, 33],
  [33, 65, 7],
  [64, 2048, 70],
  [512, 64, 64],
  [512, 64, 172],
  [512, 172, 64],
  [512, 64, 512],
];

describeBackends('matmul', ({ b, checked }) => {
  async function run(
    A: Float32Array,
    aShape: number[],
    B: Float32Array,
    bShape: number[],
    transposeB: boolean,
  ): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(A, aShape);
      const y = b().tensor(B, bShape);
      const z = b().matmul(x, y, { transposeB });
      expect(z.shape).toEqual([aShape[0], transposeB ? bShape[0] : bShape[1]]);
      const r = await b().read(z);
      b().dispose(x, y, z);
      return r;
    });
  }

  it('multiplies small integer matrices (both layouts of b)', async () => {
    const A = new Float32Array([1, 2, 3, 4]);
    expect(Array.from(await run(A, [2, 2], new Float32Array([5, 6, 7, 8]), [2, 2], false))).toEqual([
      19, 22, 43, 50,
    ]);
    expect(Array.from(await run(A, [2, 2], new Float32Array([5, 7, 6, 8]), [2, 2], true))).toEqual([
      19, 22, 43, 50,
    ]);
    const A23 = new Float32Array([1, 2, 3, 4, 5, 6]);
    const B32 = new Float32Array([7, 8, 9, 10, 11, 12]);
    expect(Array.from(await run(A23, [2, 3], B32, [3, 2], false))).toEqual([58, 64, 139, 154]);
    expect(Array.from(await run(A23, [2, 3], transpose(B32, 3, 2), [2, 3], true))).toEqual([
      58, 64, 139, 154,
    ]);
    // A row times a column is a dot product.
    expect(
      Array.from(await run(new Float32Array([1, -2, 3]), [1, 3], new Float32Array([4, 5, 6]), [3, 1], false)),
    ).toEqual([12]);
  });

  it('multiplies by ones into row sums (enough rows for the blocked kernels)', async () => {
    const m = 9;
    const A = Float32Array.from({ length: m * 3 }, (_, i) => (i % 7) - 3);
    const ones = new Float32Array(3 * 5).fill(1);
    const expected = Array.from({ length: m * 5 }, (_, i) => {
      const r = Math.floor(i / 5);
      return A[r * 3]! + A[r * 3 + 1]! + A[r * 3 + 2]!;
    });
    expect(Array.from(await run(A, [m, 3], ones, [3, 5], false))).toEqual(expected);
    expect(Array.from(await run(A, [m, 3], ones, [5, 3], true))).toEqual(expected);
  });

  it('returns zeros for an empty inner dimension', async () => {
    for (const m of [2, 8]) {
      expect(Array.from(await run(new Float32Array(0), [m, 0], new Float32Array(0), [0, 3], false))).toEqual(
        new Array(m * 3).fill(0),
      );
      expect(Array.from(await run(new Float32Array(0), [m, 0], new Float32Array(0), [3, 0], true))).toEqual(
        new Array(m * 3).fill(0),
      );
    }
  });

  for (const [m, k, n] of SHAPES) {
    for (const transposeB of [true, false]) {
      it(`matches the reference on random [${m}, ${k}] x ${transposeB ? `[${n}, ${k}]ᵀ` : `[${k}, ${n}]`}`, async () => {
        const { A, B } = operands(m, k, n, m * 31 + k * 7 + n);
        const got = await run(A, [m, k], B, transposeB ? [n, k] : [k, n], transposeB);
        expectClose(got, reference(A, B, m, k, n, transposeB), TOL_REDUCTION, `[${m}, ${k}, ${n}]`);
      });
    }
  }

  // Independent of the reference: the two layouts of b agree, and the identity is neutral.
  for (const [m, k, n] of [
    [7, 173, 33],
    [70, 64, 130],
  ] as const) {
    it(`transposeB equals multiplying by the explicitly transposed b [${m}, ${k}, ${n}]`, async () => {
      const { A, B } = operands(m, k, n, 5);
      const viaT = await run(A, [m, k], B, [n, k], true);
      const viaExplicit = await run(A, [m, k], transpose(B, n, k), [k, n], false);
      expectClose(viaT, viaExplicit, TOL_REDUCTION);
    });
  }

  it('leaves a unchanged when multiplied by the identity', async () => {
    const [m, k] = [37, 21];
    const A = randn(9, m * k);
    const I = new Float32Array(k * k);
    for (let i = 0; i < k; i++) I[i * k + i] = 1;
    expectClose(await run(A, [m, k], I, [k, k], false), A, 1e-6);
    expectClose(await run(A, [m, k], I, [k, k], true), A, 1e-6);
  });

  it('rejects mismatched inner dimensions and non-matrices', () => {
    const x = b().tensor(new Float32Array(6), [2, 3]);
    const y = b().tensor(new Float32Array(8), [4, 2]);
    const v = b().tensor(new Float32Array(6), [6]);
    expect(() => b().matmul(x, y)).toThrow(/matmul: inner dimensions differ: a is \[2, 3\], b is \[4, 2\]/);
    expect(() => b().matmul(x, y, { transposeB: true })).toThrow(/inner dimensions differ.*\(transposed\)/);
    expect(() => b().matmul(v, x)).toThrow(/matmul: expected rank-2 operands/);
    b().dispose(x, y, v);
  });
});

/**
 * Every kernel of matmul.wgsl, forced, on the WebGPU backend: the automatic choice depends on the
 * adapter (SwiftShader takes the barrier-free kernel), and no kernel may go untested.
 */
describe('matmul kernels [webgpu]', () => {
  const gpu = useWebGpu();

  async function forced(
    variant: MatmulVariant,
    A: Float32Array,
    B: Float32Array,
    m: number,
    k: number,
    n: number,
    transposeB: boolean,
  ): Promise<Float32Array> {
    return gpu().ctx.checked(async () => {
      const x = gpu().tensor(A, [m, k]);
      const y = gpu().tensor(B, transposeB ? [n, k] : [k, n]);
      const z = matmulGpu(gpu().ctx, x, y, transposeB, variant);
      const r = await gpu().read(z);
      gpu().dispose(x, y, z);
      return r;
    });
  }

  const VARIANTS: MatmulVariant[] = [
    { kernel: 'tiled', sm: 8, sn: 8, tk: 32 },
    { kernel: 'tiled', sm: 4, sn: 8, tk: 16 },
    { kernel: 'direct', wg: 64 },
    { kernel: 'gemv', wg: 64 },
  ];
  const FORCED_SHAPES: [number, number, number][] = [
    [1, 1, 1],
    [1, 64, 512],
    [3, 64, 172],
    [4, 5, 4],
    [7, 173, 33],
    [33, 65, 7],
    [64, 2048, 70],
    [512, 64, 512],
  ];
  for (const variant of VARIANTS) {
    for (const transposeB of [true, false]) {
      it(`${JSON.stringify(variant)}${transposeB ? ' transposeB' : ''} matches the reference`, async () => {
        for (const [m, k, n] of FORCED_SHAPES) {
          const { A, B } = operands(m, k, n, m + k + n);
          const got = await forced(variant, A, B, m, k, n, transposeB);
          expectClose(got, reference(A, B, m, k, n, transposeB), TOL_REDUCTION, `[${m}, ${k}, ${n}]`);
        }
      });
    }
  }

  it('spreads more than 65535 workgroups over x and y', async () => {
    // Tiny workgroups make the count exceed the per-dimension limit at a modest size.
    const cases: [MatmulVariant, number, number, number][] = [
      [{ kernel: 'tiled', sm: 1, sn: 1, tk: 4 }, 1024, 3, 1040], // 66560 tiles of 4 × 4
      [{ kernel: 'direct', wg: 1 }, 1024, 3, 1040], // 66560 blocks of 4 × 4
      [{ kernel: 'gemv', wg: 1 }, 3, 5, 88000], // 66000 blocks of 1 × 4
    ];
    for (const [variant, m, k, n] of cases) {
      const { A, B } = operands(m, k, n, 3);
      const got = await forced(variant, A, B, m, k, n, true);
      expectClose(got, reference(A, B, m, k, n, true), TOL_REDUCTION, variant.kernel);
    }
  });

  it('picks gemv for fewer than 4 rows and a blocked kernel otherwise', () => {
    expect(matmulVariant(gpu().ctx.device, 1).kernel).toBe('gemv');
    expect(matmulVariant(gpu().ctx.device, 3).kernel).toBe('gemv');
    expect(['tiled', 'direct']).toContain(matmulVariant(gpu().ctx.device, 4).kernel);
  });
});
