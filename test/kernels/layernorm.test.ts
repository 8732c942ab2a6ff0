import { describe, expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { layernormGpu } from '../../kernels/layernorm';
import { layernormCpu } from '../../kernels/layernorm.cpu';
import {
  ROW_REDUCTION_LAYOUTS,
  ROW_REDUCTION_SHAPES,
  describeBackends,
  expectClose,
  randn,
  useWebGpu,
} from './harness';

const EPS = 1e-5;

/**
 * Tolerance against the float64 reference: the GPU's two f32 passes over shifted data keep every
 * output within a few ulps of values of order 1–10 (measured ≤ 2.2e-6 on SwiftShader; 4.8e-7 on
 * the offset rows); the contract's TOL_REDUCTION (1e-3) would hide a one-pass variance.
 */
const TOL = 1e-5;

function reference(
  X: Float32Array,
  W: Float32Array,
  B: Float32Array | undefined,
  rows: number,
  cols: number,
  eps = EPS,
): Float32Array {
  return cpu(layernormCpu(f32(X, [rows, cols]), f32(W, [cols]), B && f32(B, [cols]), eps)).data;
}

/** Row widths: 1, non-multiples of 4, GPT-2's 768 (8 lanes per row), wide rows (64 lanes). */
const SHAPES: [number, number][] = [
  [1, 1],
  [4, 3],
  [7, 173],
  [33, 65],
  [3, 768],
  [5, 770],
  [64, 96],
  [2, 5000],
];

describeBackends('layernorm', ({ b, checked }) => {
  async function run(
    X: Float32Array,
    W: Float32Array,
    B: Float32Array | undefined,
    shape: number[],
    eps = EPS,
  ): Promise<Float32Array> {
    return checked(async () => {
      const x = b().tensor(X, shape);
      const w = b().tensor(W, [W.length]);
      const bias = B && b().tensor(B, [B.length]);
      const y = b().layernorm(x, w, bias, eps);
      expect(y.shape).toEqual(shape);
      const r = await b().read(y);
      b().dispose(x, w, bias, y);
      return r;
    });
  }

  it('normalizes hand-checked rows', async () => {
    // [1, 2, 3, 4]: mean 2.5, biased variance 1.25, so (x − 2.5) / √1.25 = ±1.5/√1.25, ±0.5/√1.25.
    const s = Math.sqrt(1.25);
    const X = new Float32Array([1, 2, 3, 4]);
    const ones = new Float32Array([1, 1, 1, 1]);
    expectClose(await run(X, ones, undefined, [1, 4], 0), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], 1e-7);
    // weight scales and bias shifts each column.
    const W = new Float32Array([1, 2, 0.5, -1]);
    const B = new Float32Array([0, 1, -1, 0.5]);
    expectClose(await run(X, W, B, [1, 4], 0), [-1.5 / s, 1 - 1 / s, -1 + 0.25 / s, 0.5 - 1.5 / s], 1e-7);
    // [−1, 0, 1] + 100: mean 100, variance 2/3; eps 1e-5 enters as √(2/3 + 1e-5).
    const v = Math.sqrt(2 / 3 + 1e-5);
    expectClose(
      await run(new Float32Array([99, 100, 101]), new Float32Array([1, 1, 1]), undefined, [1, 3]),
      [-1 / v, 0, 1 / v],
      1e-7,
    );
    // A constant row has no deviation: the output is the bias (eps keeps it finite).
    expectClose(
      await run(
        new Float32Array([7, 7, 7]),
        new Float32Array([3, 3, 3]),
        new Float32Array([1, 2, 3]),
        [1, 3],
      ),
      [1, 2, 3],
      0,
    );
  });

  for (const [rows, cols] of SHAPES) {
    it(`matches the reference on random [${rows}, ${cols}], with and without bias`, async () => {
      const X = randn(rows * 5 + cols, rows * cols, 2);
      const W = randn(cols, cols);
      const B = randn(cols + 1, cols);
      for (const bias of [B, undefined]) {
        const got = await run(X, W, bias, [rows, cols]);
        expectClose(got, reference(X, W, bias, rows, cols), TOL, `[${rows}, ${cols}]`);
      }
    });
  }

  it('keeps its accuracy on rows with a large common offset (two passes, shifted data)', async () => {
    const [rows, cols] = [4, 768];
    const X = randn(77, rows * cols).map((v, i) => v + (Math.floor(i / cols) % 2 ? 1000 : -3e4));
    const W = new Float32Array(cols).fill(1);
    const got = await run(X, W, undefined, [rows, cols]);
    // The input itself is only f32: 3e4 + v keeps v to ±1e-3 (ulp 2^-9), which the reference sees too.
    expectClose(got, reference(X, W, undefined, rows, cols), 2e-5);
  });

  it('treats higher-rank tensors as rows of the last dim', async () => {
    const X = randn(4, 2 * 3 * 50, 2);
    const W = randn(5, 50);
    const B = randn(6, 50);
    expectClose(await run(X, W, B, [2, 3, 50]), reference(X, W, B, 6, 50), TOL);
  });

  // Independent of the reference: unit weight and no bias give rows of mean 0 and variance 1
  // (up to eps), and shifting or scaling a row leaves it unchanged.
  for (const [rows, cols] of [
    [9, 33],
    [3, 768],
    [2, 5000],
  ] as const) {
    it(`rows come out with mean 0, variance 1, whatever their shift and scale [${rows}, ${cols}]`, async () => {
      const X = randn(21, rows * cols, 3);
      const ones = new Float32Array(cols).fill(1);
      const y = await run(X, ones, undefined, [rows, cols], 1e-12);
      for (let r = 0; r < rows; r++) {
        let m = 0;
        let v = 0;
        for (let c = 0; c < cols; c++) m += y[r * cols + c]! / cols;
        for (let c = 0; c < cols; c++) v += (y[r * cols + c]! - m) ** 2 / cols;
        expect(Math.abs(m), `row ${r} mean ${m}`).toBeLessThan(1e-6);
        expect(Math.abs(v - 1), `row ${r} variance ${v}`).toBeLessThan(1e-5);
      }
      const moved = X.map((v, i) => v * (Math.floor(i / cols) % 2 === 0 ? 40 : 0.25) + 5);
      expectClose(await run(moved, ones, undefined, [rows, cols], 1e-12), y, 1e-5);
    });
  }

  it('rejects a weight or bias that does not match the rows', () => {
    const x = b().tensor(new Float32Array(8), [2, 4]);
    const w3 = b().tensor(new Float32Array(3), [3]);
    const w4 = b().tensor(new Float32Array(4), [4]);
    expect(() => b().layernorm(x, w3, undefined, EPS)).toThrow(
      /layernorm: weight has 3 elements, rows have 4/,
    );
    expect(() => b().layernorm(x, w4, w3, EPS)).toThrow(/layernorm: bias has 3 elements, rows have 4/);
    b().dispose(x, w3, w4);
  });
});

/** Every thread layout of layernorm.wgsl, forced (the automatic one depends on the row width). */
describe('layernorm layouts [webgpu]', () => {
  const gpu = useWebGpu();

  for (const layout of ROW_REDUCTION_LAYOUTS) {
    it(`${layout.wg} threads, ${layout.lanes} per row, matches the reference`, async () => {
      for (const [rows, cols] of ROW_REDUCTION_SHAPES) {
        const X = randn(rows + cols, rows * cols, 2);
        const W = randn(cols, cols);
        const B = randn(cols + 3, cols);
        const got = await gpu().ctx.checked(async () => {
          const x = gpu().tensor(X, [rows, cols]);
          const w = gpu().tensor(W, [cols]);
          const bias = gpu().tensor(B, [cols]);
          const y = layernormGpu(gpu().ctx, x, w, bias, EPS, layout);
          const r = await gpu().read(y);
          gpu().dispose(x, w, bias, y);
          return r;
        });
        expectClose(got, reference(X, W, B, rows, cols), TOL, `[${rows}, ${cols}]`);
      }
    });
  }
});
