import { expect, it } from 'vitest';
import { cpu, f32 } from '../../kernels/cpu-tensor';
import { writeRowsCpu } from '../../kernels/write-rows.cpu';
import { describeBackends, randn } from './harness';

function reference(
  D: Float32Array,
  dstShape: number[],
  S: Float32Array,
  srcShape: number[],
  rowOffset: number,
): Float32Array {
  const dst = f32(D.slice(), dstShape);
  writeRowsCpu(dst, f32(S, srcShape), rowOffset);
  return cpu(dst).data;
}

describeBackends('writeRows', ({ b, checked }) => {
  async function run(
    D: Float32Array,
    dstShape: number[],
    S: Float32Array,
    srcShape: number[],
    rowOffset: number,
  ): Promise<Float32Array> {
    return checked(async () => {
      const dst = b().tensor(D, dstShape);
      const src = b().tensor(S, srcShape);
      b().writeRows(dst, src, rowOffset);
      const r = await b().read(dst);
      b().dispose(dst, src);
      return r;
    });
  }

  it('copies rows into place, leaving the others alone', async () => {
    const got = await run(new Float32Array(8).fill(-1), [4, 2], new Float32Array([1, 2, 3, 4]), [2, 2], 1);
    expect(Array.from(got)).toEqual([-1, -1, 1, 2, 3, 4, -1, -1]);
    // The last rows, exactly at the edge, and a whole-tensor overwrite.
    expect(Array.from(await run(new Float32Array(6), [3, 2], new Float32Array([7, 8]), [1, 2], 2))).toEqual([
      0, 0, 0, 0, 7, 8,
    ]);
    expect(
      Array.from(await run(new Float32Array(4), [2, 2], new Float32Array([1, 2, 3, 4]), [2, 2], 0)),
    ).toEqual([1, 2, 3, 4]);
    // Zero rows change nothing.
    expect(Array.from(await run(new Float32Array([5, 6]), [1, 2], new Float32Array(0), [0, 2], 1))).toEqual([
      5, 6,
    ]);
  });

  for (const [n, d, t, offset] of [
    [512, 64, 7, 100],
    [512, 32, 512, 0],
    [512, 32, 1, 511],
    [33, 173, 5, 28],
  ] as const) {
    it(`matches the reference writing [${t}, ${d}] into [${n}, ${d}] at row ${offset}`, async () => {
      const D = randn(n, n * d);
      const S = randn(t, t * d);
      expect(await run(D, [n, d], S, [t, d], offset)).toEqual(reference(D, [n, d], S, [t, d], offset));
    });
  }

  // A KV cache: a prefill, then one token at a time; each write lands in order with the ops around it.
  it('appends like a KV cache, ordered with the ops before and after it', async () => {
    const [n, d] = [16, 8];
    const rows = randn(5, n * d);
    const got = await checked(async () => {
      const cache = b().tensor(new Float32Array(n * d), [n, d]);
      const zeros = b().tensor(new Float32Array(n * d), [n, d]);
      const before: Float32Array[] = [];
      const pre = b().tensor(rows.slice(0, 4 * d), [4, d]);
      b().writeRows(cache, pre, 0);
      b().dispose(pre);
      for (let r = 4; r < n; r++) {
        // A copy taken by an op enqueued before the write must not see it.
        const snapshot = b().add(cache, zeros);
        const one = b().tensor(rows.slice(r * d, (r + 1) * d), [1, d]);
        const scaled = b().add(one, one); // the written row comes out of an op, still pending
        b().writeRows(cache, scaled, r);
        before.push(await b().read(snapshot));
        b().dispose(snapshot, one, scaled);
      }
      const final = await b().read(cache);
      b().dispose(cache, zeros);
      return { final, before };
    });
    const expected = rows.map((v, i) => (i < 4 * d ? v : 2 * v));
    expect(got.final).toEqual(expected);
    got.before.forEach((snap, k) => {
      const r = 4 + k;
      expect(snap.subarray(0, r * d)).toEqual(expected.subarray(0, r * d));
      expect(Array.from(snap.subarray(r * d))).toEqual(new Array((n - r) * d).fill(0));
    });
  });

  it('treats a tensor written onto itself as the identity', async () => {
    const D = randn(3, 12);
    const got = await checked(async () => {
      const t = b().tensor(D, [3, 4]);
      b().writeRows(t, t, 0);
      const r = await b().read(t);
      b().dispose(t);
      return r;
    });
    expect(got).toEqual(D);
  });

  it('rejects rows of another width and rows that do not fit', () => {
    const dst = b().tensor(new Float32Array(8), [4, 2]);
    const wide = b().tensor(new Float32Array(3), [1, 3]);
    const two = b().tensor(new Float32Array(4), [2, 2]);
    expect(() => b().writeRows(dst, wide, 0)).toThrow(
      /writeRows: row widths differ: dst \[4, 2\], src \[1, 3\]/,
    );
    expect(() => b().writeRows(dst, two, 3)).toThrow(/writeRows: rows 3..4 do not fit in 4 rows/);
    expect(() => b().writeRows(dst, two, -1)).toThrow(/do not fit/);
    expect(() => b().writeRows(dst, two, 0.5)).toThrow(/do not fit/);
    b().dispose(dst, wide, two);
  });
});
