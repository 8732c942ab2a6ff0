import { expect, it } from 'vitest';
import { addCpu } from '../../kernels/add.cpu';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { TOL_ELEMENTWISE, describeBackends, expectClose, randn } from './harness';

describeBackends('add', ({ b, checked }) => {
  it('adds a hand-computed case', async () => {
    const out = await checked(async () => {
      const x = b().tensor(new Float32Array([1, 2, 3]), [3]);
      const y = b().tensor(new Float32Array([10, -2, 0.5]), [3]);
      const z = b().add(x, y);
      const r = await b().read(z);
      b().dispose(x, y, z);
      return r;
    });
    expect(Array.from(out)).toEqual([11, 0, 3.5]);
  });

  for (const [rows, cols] of [
    [1, 1],
    [1, 64],
    [7, 173],
    [512, 64],
    [300, 1000],
  ] as const) {
    it(`matches the reference on random [${rows}, ${cols}]`, async () => {
      const a = randn(rows * 7 + cols, rows * cols);
      const c = randn(rows * 13 + cols, rows * cols);
      const expected = cpu(addCpu(f32(a, [rows, cols]), f32(c, [rows, cols]))).data;
      const got = await checked(async () => {
        const x = b().tensor(a, [rows, cols]);
        const y = b().tensor(c, [rows, cols]);
        const z = b().add(x, y);
        const r = await b().read(z);
        b().dispose(x, y, z);
        return r;
      });
      expectClose(got, expected, TOL_ELEMENTWISE);
    });
  }

  it('rejects mismatched shapes', () => {
    const x = b().tensor(new Float32Array(6), [2, 3]);
    const y = b().tensor(new Float32Array(6), [3, 2]);
    expect(() => b().add(x, y)).toThrow(/shapes differ/);
    b().dispose(x, y);
  });
});
