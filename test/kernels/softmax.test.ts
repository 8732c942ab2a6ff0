import { describe, expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { softmaxGpu, softmaxLayout } from '../../kernels/softmax';
import { softmaxCpu } from '../../kernels/softmax.cpu';
import {
  TOL_REDUCTION,
  describeBackends,
  expectClose,
  randn,
  rng,
  useWebGpu,
  ROW_REDUCTION_LAYOUTS,
  ROW_REDUCTION_SHAPES,
} from './harness';

function reference(X: Float32Array, shape: number[]): Float32Array {
  return cpu(softmaxCpu(f32(X, shape))).data;
}

/** Random logits with about `fraction` of each row masked to -Infinity (never the whole row). */
function masked(seed: number, rows: number, cols: number, fraction: number): Float32Array {
  const X = randn(seed, rows * cols, 3);
  const r = rng(seed + 1);
  for (let i = 0; i < rows; i++) {
    const keep = Math.floor(r() * cols);
    for (let c = 0; c < cols; c++) if (c !== keep && r() < fraction) X[i * cols + c] = -Infinity;
  }
  return X;
}

/** Row widths covering each layout: a thread per row (≤ 512), 8 lanes (≤ 4096), 64 lanes. */
const SHAPES: [number, number][] = [
  [1, 1],
  [1, 7],
  [7, 173],
  [33, 65],
  [512, 64],
  [512, 512],
  [3, 1000],
  [2, 32000],
];

describeBackends('softmax', ({ b, checked }) => {
  async function run(X: Float32Array, shape: number[]): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(X, shape);
      const y = b().softmax(x);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(x, y);
      return r;
    });
  }

  it('computes hand-checked rows', async () => {
    expectClose(await run(new Float32Array([0, Math.LN2]), [1, 2]), [1 / 3, 2 / 3], 1e-6);
    // A single element is certain; equal entries share evenly.
    expectClose(await run(new Float32Array([-7.5, 3, 3, 3, 3]), [5, 1]), [1, 1, 1, 1, 1], 1e-6);
    expectClose(await run(new Float32Array([2, 2, 2, 2]), [4]), [0.25, 0.25, 0.25, 0.25], 1e-6);
    // Max subtraction: huge logits neither overflow nor lose the answer.
    expectClose(await run(new Float32Array([1000, 1000, -1000, 88, 89]), [1, 5]), [0.5, 0.5, 0, 0, 0], 1e-6);
  });

  it('gives masked (-Infinity) entries probability 0, not NaN', async () => {
    const X = new Float32Array([
      -Infinity,
      0,
      -Infinity,
      -Infinity,
      -Infinity,
      Math.LN2,
      0,
      -Infinity,
      -Infinity,
      -Infinity,
    ]);
    expectClose(await run(X, [2, 5]), [0, 1, 0, 0, 0, 2 / 3, 1 / 3, 0, 0, 0], 1e-6);
    // The row maximum may sit anywhere, before or after masked entries.
    expectClose(await run(new Float32Array([-Infinity, -Infinity, 7]), [1, 3]), [0, 0, 1], 1e-6);
    for (const [rows, cols] of [
      [16, 40],
      [4, 2000],
      [2, 32000],
    ] as const) {
      const M = masked(rows + cols, rows, cols, 0.6);
      const got = await run(M, [rows, cols]);
      expectClose(got, reference(M, [rows, cols]), TOL_REDUCTION, `[${rows}, ${cols}]`);
      for (let i = 0; i < M.length; i++) if (M[i] === -Infinity) expect(got[i]).toBe(0);
    }
  });

  for (const [rows, cols] of SHAPES) {
    it(`matches the reference on random [${rows}, ${cols}]`, async () => {
      const X = randn(rows * 3 + cols, rows * cols, 3);
      expectClose(
        await run(X, [rows, cols]),
        reference(X, [rows, cols]),
        TOL_REDUCTION,
        `[${rows}, ${cols}]`,
      );
    });
  }

  it('treats higher-rank tensors as rows of the last dim', async () => {
    const X = randn(4, 2 * 3 * 50, 2);
    expectClose(await run(X, [2, 3, 50]), reference(X, [6, 50]), TOL_REDUCTION);
  });

  // Independent of the reference: probabilities in [0, 1] summing to 1, invariant to a row shift.
  for (const [rows, cols] of [
    [9, 33],
    [3, 5000],
  ] as const) {
    it(`rows are distributions, unchanged by adding a constant [${rows}, ${cols}]`, async () => {
      const X = randn(11, rows * cols, 4);
      const p = await run(X, [rows, cols]);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) {
          const v = p[r * cols + c]!;
          expect(v >= 0 && v <= 1, `p[${r}, ${c}] = ${v}`).toBe(true);
          s += v;
        }
        expect(Math.abs(s - 1), `row ${r} sums to ${s}`).toBeLessThan(TOL_REDUCTION);
      }
      const shifted = X.map((v, i) => v + (Math.floor(i / cols) % 2 === 0 ? 50 : -20));
      expectClose(await run(shifted, [rows, cols]), p, TOL_REDUCTION);
    });
  }

  it('rejects a tensor of the other backend', () => {
    const foreign = {
      shape: [2],
      dtype: 'f32',
      size: 2,
      backend: b().kind === 'cpu' ? 'webgpu' : 'cpu',
    } as const;
    expect(() => b().softmax(foreign)).toThrow(/expected a (cpu|webgpu) tensor/);
  });
});

/** Every layout of softmax.wgsl, forced (the automatic one depends on the row width). */
describe('softmax layouts [webgpu]', () => {
  const gpu = useWebGpu();

  async function forced(
    layout: { wg: number; lanes: number },
    X: Float32Array,
    shape: number[],
  ): Promise<Float32Array> {
    return gpu().ctx.checked(async () => {
      const x = gpu().tensor(X, shape);
      const y = softmaxGpu(gpu().ctx, x, layout);
      const r = await gpu().read(y);
      gpu().dispose(x, y);
      return r;
    });
  }

  for (const layout of ROW_REDUCTION_LAYOUTS) {
    it(`${layout.wg} threads, ${layout.lanes} per row, matches the reference (masked entries too)`, async () => {
      for (const [rows, cols] of ROW_REDUCTION_SHAPES) {
        const X = masked(rows * cols, rows, cols, 0.3);
        expectClose(
          await forced(layout, X, [rows, cols]),
          reference(X, [rows, cols]),
          TOL_REDUCTION,
          `[${rows}, ${cols}]`,
        );
      }
    });
  }

  it('spreads more than 65535 workgroups over x and y', async () => {
    const X = randn(8, 70000 * 3);
    expectClose(await forced({ wg: 1, lanes: 1 }, X, [70000, 3]), reference(X, [70000, 3]), TOL_REDUCTION);
  });

  it('shares a row among more threads as rows widen', () => {
    expect(softmaxLayout(64).lanes).toBe(1);
    expect(softmaxLayout(2000).lanes).toBe(8);
    expect(softmaxLayout(32000).lanes).toBe(64);
  });
});
