import { expect, it } from 'vitest';
import { TOL_ELEMENTWISE, describeBackends, expectClose, randInt, randn } from './harness';

describeBackends('gatherRows', ({ b, ref, checked }) => {
  async function run(be: ReturnType<typeof b>, x: Float32Array, shape: number[], rows: Int32Array) {
    const xt = be.tensor(x, shape);
    const r = be.tensor(rows, [rows.length]);
    const y = be.gatherRows(xt, r);
    expect(y.shape).toEqual([rows.length, shape[1]]);
    const out = await be.read(y);
    be.dispose(xt, r, y);
    return out;
  }

  it('gathers hand-checked rows in the given order, repeats included', async () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    const got = await checked(() => run(b(), x, [3, 2], Int32Array.of(2, 0, 2, 1)));
    expect(Array.from(got)).toEqual([5, 6, 1, 2, 5, 6, 3, 4]);
  });

  it('an empty row list (an expert that got no tokens) gives [0, D]', async () => {
    const got = await checked(() => run(b(), new Float32Array([1, 2, 3, 4]), [2, 2], new Int32Array(0)));
    expect(got.length).toBe(0);
  });

  it('a single token (T = 1)', async () => {
    const got = await checked(() => run(b(), new Float32Array([7, 8, 9]), [1, 3], Int32Array.of(0)));
    expect(Array.from(got)).toEqual([7, 8, 9]);
  });

  for (const [t, d, n] of [
    [16, 8, 5],
    [512, 64, 300], // a 512-token window, one expert's share
    [33, 173, 33],
  ] as const) {
    it(`matches the reference and copies rows bit for bit: [${t}, ${d}], ${n} rows`, async () => {
      const x = randn(t + d, t * d);
      const rows = randInt(n, n, t);
      rows[0] = t - 1;
      const got = await checked(() => run(b(), x, [t, d], rows));
      expectClose(got, await run(ref(), x, [t, d], rows), TOL_ELEMENTWISE);
      for (let i = 0; i < n; i++) {
        expect(got.subarray(i * d, (i + 1) * d)).toEqual(x.subarray(rows[i]! * d, (rows[i]! + 1) * d));
      }
    });
  }

  it('rejects a row outside [0, T) (cpu) or gives a zero row (webgpu)', async () => {
    const x = new Float32Array([1, 2, 3, 4]);
    const rows = Int32Array.of(1, 2, -1, 0);
    if (b().kind === 'cpu') {
      await expect(run(b(), x, [2, 2], rows)).rejects.toThrow(
        /gatherRows: row index 2 at 1 is outside \[0, 2\)/,
      );
    } else {
      expect(Array.from(await checked(() => run(b(), x, [2, 2], rows)))).toEqual([3, 4, 0, 0, 0, 0, 1, 2]);
    }
  });

  it('rejects an x that is not a matrix and wrong dtypes', () => {
    const x = b().tensor(new Float32Array(6), [6]);
    const m = b().tensor(new Float32Array(6), [3, 2]);
    const ids = b().tensor(Int32Array.of(0), [1]);
    const fids = b().tensor(Float32Array.of(0), [1]);
    try {
      expect(() => b().gatherRows(x, ids)).toThrow(/gatherRows: x must be \[T, D\], got \[6\]/);
      expect(() => b().gatherRows(m, fids as never)).toThrow(/gatherRows rows: expected dtype i32, got f32/);
    } finally {
      b().dispose(x, m, ids, fids);
    }
  });
});
