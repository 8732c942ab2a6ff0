import { expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { CpuTensor } from '../../kernels/cpu-tensor';
import { embeddingCpu } from '../../kernels/embedding.cpu';
import { TOL_ELEMENTWISE, describeBackends, expectClose, randInt, randn } from './harness';

function reference(T: Float32Array, v: number, d: number, ids: Int32Array): Float32Array {
  return cpu(embeddingCpu(f32(T, [v, d]), new CpuTensor<'i32'>(ids, [ids.length]))).data;
}

describeBackends('embedding', ({ b, checked }) => {
  async function run(T: Float32Array, tableShape: number[], ids: Int32Array): Promise<Float32Array> {
    return checked(async () => {
      const table = b().tensor(T, tableShape);
      const i = b().tensor(ids, [ids.length]);
      const y = b().embedding(table, i);
      expect(y.shape).toEqual([ids.length, tableShape[1]]);
      const r = await b().read(y);
      b().dispose(table, i, y);
      return r;
    });
  }

  it('gathers hand-checked rows, repeats included', async () => {
    const T = new Float32Array([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await run(T, [3, 2], new Int32Array([2, 0, 2, 1])))).toEqual([5, 6, 1, 2, 5, 6, 3, 4]);
    expect(Array.from(await run(T, [3, 2], new Int32Array(0)))).toEqual([]);
  });

  for (const [v, d, t] of [
    [1, 1, 1],
    [512, 64, 1],
    [512, 64, 512], // stories260K
    [37, 173, 33],
    [32000, 16, 300], // Llama 2 vocabulary
  ] as const) {
    it(`matches the reference on random table [${v}, ${d}], ${t} ids`, async () => {
      const T = randn(v + d, v * d);
      const ids = randInt(t, t, v);
      ids[0] = v - 1; // the last row, exactly at the edge
      const got = await run(T, [v, d], ids);
      expectClose(got, reference(T, v, d, ids), TOL_ELEMENTWISE);
      // Independent of the reference: each output row is its table row, bit for bit.
      for (let i = 0; i < t; i++) {
        expect(got.subarray(i * d, (i + 1) * d)).toEqual(T.subarray(ids[i]! * d, (ids[i]! + 1) * d));
      }
    });
  }

  it('spreads more than 65535 workgroups over x and y', async () => {
    const [v, d, t] = [5, 256, 65600]; // 65600 workgroups of 256 threads
    const T = randn(1, v * d);
    const ids = randInt(2, t, v);
    expectClose(await run(T, [v, d], ids), reference(T, v, d, ids), TOL_ELEMENTWISE);
  });

  it('rejects an id outside the vocabulary (cpu) or gives a zero row (webgpu)', async () => {
    const T = new Float32Array([1, 2, 3, 4]);
    const ids = new Int32Array([1, 2, -1, 0]);
    if (b().kind === 'cpu') {
      await expect(run(T, [2, 2], ids)).rejects.toThrow(
        /embedding: token id 2 at position 1 is outside the vocabulary \[0, 2\)/,
      );
    } else {
      expect(Array.from(await run(T, [2, 2], ids))).toEqual([3, 4, 0, 0, 0, 0, 1, 2]);
    }
  });

  it('rejects a table that is not a matrix', () => {
    const table = b().tensor(new Float32Array(6), [6]);
    const ids = b().tensor(new Int32Array([0]), [1]);
    expect(() => b().embedding(table, ids)).toThrow(/embedding: table must be \[V, D\], got \[6\]/);
    b().dispose(table, ids);
  });
});
