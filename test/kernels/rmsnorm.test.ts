import { describe, expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { rmsnormGpu, rmsnormLayout } from '../../kernels/rmsnorm';
import { rmsnormCpu } from '../../kernels/rmsnorm.cpu';
import {
  TOL_REDUCTION,
  describeBackends,
  expectClose,
  randn,
  useWebGpu,
  ROW_REDUCTION_LAYOUTS,
  ROW_REDUCTION_SHAPES,
} from './harness';

const EPS = 1e-5;

function reference(X: Float32Array, W: Float32Array, rows: number, cols: number, eps = EPS): Float32Array {
  return cpu(rmsnormCpu(f32(X, [rows, cols]), f32(W, [cols]), eps)).data;
}

/** Row widths covering each layout: a thread per row (≤ 512), 8 lanes (≤ 4096), 64 lanes. */
const SHAPES: [number, number][] = [
  [1, 1],
  [1, 64],
  [7, 173],
  [33, 65],
  [512, 64],
  [3, 1000],
  [2, 32000],
];

describeBackends('rmsnorm', ({ b, checked }) => {
  async function run(X: Float32Array, W: Float32Array, shape: number[], eps = EPS): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(X, shape);
      const w = b().tensor(W, [W.length]);
      const y = b().rmsnorm(x, w, eps);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(x, w, y);
      return r;
    });
  }

  it('normalizes hand-checked rows', async () => {
    // [3, 4]: mean square 12.5, so the row divides by √12.5.
    const s = Math.sqrt(12.5);
    expectClose(
      await run(new Float32Array([3, 4]), new Float32Array([1, 1]), [1, 2], 0),
      [3 / s, 4 / s],
      1e-6,
    );
    // [-6, 8]: mean square 50; weight [2, 0.5] scales the columns.
    const t = Math.sqrt(50);
    const W = new Float32Array([2, 0.5]);
    expectClose(
      await run(new Float32Array([3, 4, -6, 8]), W, [2, 2], 0),
      [6 / s, 2 / s, -12 / t, 4 / t],
      1e-6,
    );
    // eps keeps a zero row finite; it also shrinks tiny rows: [1e-3] → 1e-3 / √(1e-6 + 1e-6).
    expectClose(
      await run(new Float32Array([0, 0, 1e-3]), new Float32Array([1]), [3, 1], 1e-6),
      [0, 0, 1 / Math.sqrt(2)],
      1e-6,
    );
  });

  for (const [rows, cols] of SHAPES) {
    it(`matches the reference on random [${rows}, ${cols}]`, async () => {
      const X = randn(rows * 5 + cols, rows * cols, 2);
      const W = randn(cols, cols);
      expectClose(
        await run(X, W, [rows, cols]),
        reference(X, W, rows, cols),
        TOL_REDUCTION,
        `[${rows}, ${cols}]`,
      );
    });
  }

  it('treats higher-rank tensors as rows of the last dim', async () => {
    const X = randn(4, 2 * 3 * 50, 2);
    const W = randn(5, 50);
    expectClose(await run(X, W, [2, 3, 50]), reference(X, W, 6, 50), TOL_REDUCTION);
  });

  // Independent of the reference: with unit weight every row has mean square 1 (up to eps), a
  // weight scales its column, and scaling a row leaves it unchanged.
  for (const [rows, cols] of [
    [9, 33],
    [3, 5000],
  ] as const) {
    it(`rows come out with mean square 1 and ignore their scale [${rows}, ${cols}]`, async () => {
      const X = randn(21, rows * cols, 3);
      const ones = new Float32Array(cols).fill(1);
      const y = await run(X, ones, [rows, cols], 1e-9);
      for (let r = 0; r < rows; r++) {
        let ms = 0;
        for (let c = 0; c < cols; c++) ms += y[r * cols + c]! ** 2 / cols;
        expect(Math.abs(ms - 1), `row ${r} mean square ${ms}`).toBeLessThan(TOL_REDUCTION);
      }
      const W = randn(22, cols);
      const yw = await run(X, W, [rows, cols], 1e-9);
      expectClose(
        yw,
        y.map((v, i) => v * W[i % cols]!),
        TOL_REDUCTION,
      );
      const scaled = X.map((v, i) => v * (Math.floor(i / cols) % 2 === 0 ? 40 : 0.25));
      expectClose(await run(scaled, ones, [rows, cols], 1e-9), y, TOL_REDUCTION);
    });
  }

  it('rejects a weight that does not match the rows', () => {
    const x = b().tensor(new Float32Array(8), [2, 4]);
    const w = b().tensor(new Float32Array(3), [3]);
    expect(() => b().rmsnorm(x, w, EPS)).toThrow(/rmsnorm: weight has 3 elements, rows have 4/);
    b().dispose(x, w);
  });
});

/** Every layout of rmsnorm.wgsl, forced (the automatic one depends on the row width). */
describe('rmsnorm layouts [webgpu]', () => {
  const gpu = useWebGpu();

  async function forced(
    layout: { wg: number; lanes: number },
    X: Float32Array,
    W: Float32Array,
    rows: number,
    cols: number,
  ): Promise<Float32Array> {
    return gpu().ctx.checked(async () => {
      const x = gpu().tensor(X, [rows, cols]);
      const w = gpu().tensor(W, [cols]);
      const y = rmsnormGpu(gpu().ctx, x, w, EPS, layout);
      const r = await gpu().read(y);
      gpu().dispose(x, w, y);
      return r;
    });
  }

  for (const layout of ROW_REDUCTION_LAYOUTS) {
    it(`${layout.wg} threads, ${layout.lanes} per row, matches the reference`, async () => {
      for (const [rows, cols] of ROW_REDUCTION_SHAPES) {
        const X = randn(rows + cols, rows * cols, 2);
        const W = randn(cols, cols);
        expectClose(
          await forced(layout, X, W, rows, cols),
          reference(X, W, rows, cols),
          TOL_REDUCTION,
          `[${rows}, ${cols}]`,
        );
      }
    });
  }

  it('spreads more than 65535 workgroups over x and y', async () => {
    const X = randn(8, 70000 * 3);
    const W = new Float32Array([1, -2, 0.5]);
    expectClose(await forced({ wg: 1, lanes: 1 }, X, W, 70000, 3), reference(X, W, 70000, 3), TOL_REDUCTION);
  });

  it('shares a row among more threads as rows widen', () => {
    expect(rmsnormLayout(64).lanes).toBe(1);
    expect(rmsnormLayout(2000).lanes).toBe(8);
    expect(rmsnormLayout(32000).lanes).toBe(64);
  });
});
