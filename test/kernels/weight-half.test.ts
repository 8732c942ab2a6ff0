/**
 * 16-bit weights (f16, bf16) kept 16-bit and decoded inside the kernels that read weights: matmul's
 * b (every kernel variant, both layouts) and embedding's table, on both backends. Each result is
 * compared with a naive loop over values decoded by this file's own decoders (not the kernels'
 * table), and with the same kernel run on the float32 conversion, which must agree bit for bit
 * (decoding is exact and the sums run in the same order). Edge cases: NaN, ±Infinity, subnormals,
 * −0 and odd lengths (a 16-bit tensor packs two values to a 32-bit word).
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import type { Tensor } from '../../kernels/tensor';
import { matmulGpu, type MatmulVariant } from '../../kernels/matmul';
import { decodeInto, halfArray, type HalfDType } from '../../kernels/weight-dtype';
import { f32ToBf16Bits, f32ToF16Bits } from '../../runtime/formats/safetensors-dtypes';
import { describeBackends, randn, rng, useWebGpu } from './harness';

/** IEEE half bits → number, from the definition (independent of the kernels' lookup table). */
function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * Math.pow(2, -24);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * Math.pow(2, exp - 15) * (1 + frac / 1024);
}

/** bfloat16 bits → number: the top half of a float32, through a DataView. */
function bf16Value(h: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setUint32(0, h << 16);
  return v.getFloat32(0);
}

const decode = (dtype: HalfDType, bits: Uint16Array): number[] =>
  Array.from(bits, (h) => (dtype === 'f16' ? f16Value(h) : bf16Value(h)));

const encode = (dtype: HalfDType, values: ArrayLike<number>): Uint16Array =>
  Uint16Array.from(values as number[], (v) => (dtype === 'f16' ? f32ToF16Bits(v) : f32ToBf16Bits(v)));

/** Elementwise: equal numbers (−0 ≠ +0), or both NaN (payloads may differ). */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const ok = Number.isNaN(want[i]!) ? Number.isNaN(got[i]!) : Object.is(got[i], want[i]);
    if (!ok) expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

/** Naive matmul in f64 over decoded values: a [m, k] · b, b [n, k] (transposeB) or [k, n]. */
function naive(
  A: Float32Array,
  B: number[],
  m: number,
  k: number,
  n: number,
  transposeB: boolean,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p]! * B[transposeB ? j * k + p : p * n + j]!;
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Special values every 16-bit decoder must get right, as bits. */
const SPECIAL: Record<HalfDType, { bits: number; value: number }[]> = {
  f16: [
    { bits: 0x3c00, value: 1 },
    { bits: 0xc000, value: -2 },
    { bits: 0x0001, value: 2 ** -24 }, // smallest subnormal
    { bits: 0x83ff, value: -1023 * 2 ** -24 }, // largest negative subnormal
    { bits: 0x7bff, value: 65504 }, // largest finite
    { bits: 0x7c00, value: Infinity },
    { bits: 0xfc00, value: -Infinity },
    { bits: 0x7e00, value: NaN },
    { bits: 0x8000, value: -0 },
  ],
  bf16: [
    { bits: 0x3f80, value: 1 },
    { bits: 0xc040, value: -3 },
    { bits: 0x0001, value: 2 ** -133 }, // a float32 subnormal
    { bits: 0x807f, value: -127 * 2 ** -133 },
    { bits: 0x7f7f, value: 3.3895313892515355e38 }, // largest finite
    { bits: 0x7f80, value: Infinity },
    { bits: 0xff80, value: -Infinity },
    { bits: 0x7fc1, value: NaN },
    { bits: 0x8000, value: -0 },
  ],
};

describe('16-bit decoding (the host decoders the CPU kernels use)', () => {
  for (const dtype of ['f16', 'bf16'] as const) {
    it(`${dtype}: special values, and every one of the 65,536 patterns as the definition says`, () => {
      for (const { bits, value } of SPECIAL[dtype]) {
        expectSame(
          decode(dtype, Uint16Array.of(bits)),
          [value],
          `${dtype} 0x${bits.toString(16)} (test decoder)`,
        );
      }
      const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const out = new Float32Array(65536 + 3);
      decodeInto(dtype, all, 0, 65536, out, 3); // at an offset, as the CPU kernels decode rows
      expectSame(out.subarray(3), decode(dtype, all), dtype);
    });
  }
});

describeBackends('16-bit weights', ({ b, checked }) => {
  async function gather(
    dtype: HalfDType,
    bits: Uint16Array,
    shape: [number, number],
    ids: number[],
    rowOffset?: number,
  ): Promise<Float32Array> {
    return checked(async () => {
      const table = b().weightTensor(halfArray(dtype, bits), shape);
      expect(table.dtype).toBe(dtype);
      const i = b().tensor(Int32Array.from(ids), [ids.length]);
      const y = b().embedding(table, i, rowOffset === undefined ? undefined : { rowOffset });
      const r = await b().read(y);
      b().dispose(table, i, y);
      return r;
    });
  }

  for (const dtype of ['f16', 'bf16'] as const) {
    it(`${dtype}: a 16-bit tensor reads back as its bits, odd lengths included`, async () => {
      for (const n of [1, 2, 7, 1001]) {
        const bits = Uint16Array.from({ length: n }, (_, i) => (i * 40503 + 17) & 0xffff);
        const got = await checked(async () => {
          const t = b().weightTensor(halfArray(dtype, bits), [n]);
          const r = await b().read(t);
          b().dispose(t);
          return r;
        });
        expect(got).toEqual(bits);
      }
    });

    it(`${dtype} embedding: every row decoded exactly, special values and an odd-length table`, async () => {
      // [3, 5]: 15 values, so rows start in the middle of a 32-bit word and the last one is alone.
      const specials = SPECIAL[dtype].map((s) => s.bits);
      const bits = Uint16Array.from({ length: 15 }, (_, i) => specials[i % specials.length]!);
      const ids = [2, 0, 1, 2, 1];
      const got = await gather(dtype, bits, [3, 5], ids);
      const values = decode(dtype, bits);
      expectSame(
        got,
        ids.flatMap((id) => values.slice(id * 5, id * 5 + 5)),
        `${dtype} gather`,
      );
    });

    it(`${dtype} embedding: random tables match the naive decode`, async () => {
      const r = rng(dtype === 'f16' ? 3 : 4);
      for (const [v, d, t] of [
        [1, 1, 1],
        [37, 173, 33],
        [512, 64, 512],
      ] as const) {
        // Random finite values of several magnitudes (including f16 subnormals).
        const values = Array.from({ length: v * d }, () => (r() - 0.5) * 10 ** Math.floor(r() * 10 - 7));
        const bits = encode(dtype, values);
        const ids = Array.from({ length: t }, () => Math.floor(r() * v));
        ids[0] = v - 1;
        const got = await gather(dtype, bits, [v, d], ids);
        const dec = decode(dtype, bits);
        expectSame(
          got,
          ids.flatMap((id) => dec.slice(id * d, (id + 1) * d)),
          `[${v}, ${d}]`,
        );
      }
    });

    it(`${dtype} embedding with rowOffset: a chunk gathers its rows and zeros for the others`, async () => {
      const bits = encode(dtype, [1, 2, 3, 4, 5, 6]); // rows 10..12 of a larger table
      const ids = [9, 10, 12, 13, 11, 0];
      const got = await gather(dtype, bits, [3, 2], ids, 10);
      expectSame(got, [0, 0, 1, 2, 5, 6, 0, 0, 3, 4, 0, 0], 'chunk');
    });
  }

  it('f32 embedding with rowOffset: the chunks of a split table sum to the whole gather', async () => {
    const [v, d] = [10, 3];
    const T = randn(5, v * d);
    const ids = Int32Array.from([0, 9, 3, 4, 5, 3, 8]);
    const whole = await checked(async () => {
      const t = b().tensor(T, [v, d]);
      const i = b().tensor(ids, [ids.length]);
      const sum = b().zeros([ids.length, d]);
      let acc = sum as Tensor<'f32'>;
      for (const [r0, r1] of [
        [0, 4],
        [4, 8],
        [8, 10],
      ] as const) {
        const chunk = b().tensor(T.slice(r0 * d, r1 * d), [r1 - r0, d]);
        const part = b().embedding(chunk, i, { rowOffset: r0 });
        const next = b().add(acc, part);
        b().dispose(chunk, part, acc);
        acc = next;
      }
      const r = await b().read(acc);
      b().dispose(t, i, acc);
      return r;
    });
    expectSame(
      whole,
      Array.from(ids).flatMap((id) => Array.from(T.subarray(id * d, (id + 1) * d))),
      'split',
    );
  });

  /** matmul with a 16-bit b against the same backend on its float32 conversion and a naive loop. */
  async function matmulCase(
    backend: () => Backend,
    dtype: HalfDType,
    m: number,
    k: number,
    n: number,
    transposeB: boolean,
    seed: number,
  ): Promise<void> {
    const A = randn(seed, m * k);
    const bits = encode(dtype, randn(seed + 1, n * k, 0.5));
    const dec = decode(dtype, bits);
    const [half, full] = await checked(async () => {
      const x = backend().tensor(A, [m, k]);
      const bShape = transposeB ? [n, k] : [k, n];
      const wh = backend().weightTensor(halfArray(dtype, bits), bShape);
      const wf = backend().tensor(Float32Array.from(dec), bShape);
      const yh = backend().matmul(x, wh, { transposeB });
      const yf = backend().matmul(x, wf, { transposeB });
      const r = [await backend().read(yh), await backend().read(yf)] as const;
      backend().dispose(x, wh, wf, yh, yf);
      return r;
    });
    expectSame(half, full, `${dtype} [${m}, ${k}, ${n}]${transposeB ? 'ᵀ' : ''} vs its f32 conversion`);
    const want = naive(A, dec, m, k, n, transposeB);
    for (let i = 0; i < want.length; i++) {
      // f32 accumulation against f64: a few ulps of the magnitude of the sum of |terms|.
      expect(Math.abs(half[i]! - want[i]!), `element ${i}`).toBeLessThanOrEqual(
        2e-6 * Math.sqrt(k) * 4 + 1e-7,
      );
    }
  }

  for (const dtype of ['f16', 'bf16'] as const) {
    for (const transposeB of [true, false]) {
      it(`${dtype} matmul${transposeB ? ' (transposeB, the weight layout)' : ''}: same bits as on the f32 conversion`, async () => {
        // Odd k and n: rows of b start mid-word; m 1 (gemv) and ≥ 4 (the blocked kernels).
        for (const [m, k, n] of [
          [1, 1, 1],
          [1, 7, 5],
          [5, 7, 9],
          [3, 64, 172],
          [33, 65, 7],
        ] as const) {
          await matmulCase(b, dtype, m, k, n, transposeB, m * 100 + k + n);
        }
      });
    }

    it(`${dtype} matmul: an Infinity or NaN weight propagates as in the naive loop`, async () => {
      const [m, k, n] = [2, 3, 3];
      const A = Float32Array.from([1, -2, 0.5, 0, 1, 2]);
      const specials = SPECIAL[dtype];
      const pick = (v: number) =>
        specials.find((s) => Object.is(s.value, v) || (Number.isNaN(v) && Number.isNaN(s.value)))!.bits;
      const one = pick(1);
      // Row 0 of bᵀ holds +Inf, row 1 NaN, row 2 a subnormal and −0.
      const bits = Uint16Array.from([
        pick(Infinity),
        one,
        one,
        one,
        pick(NaN),
        one,
        specials[2]!.bits,
        pick(-0),
        one,
      ]);
      const got = await checked(async () => {
        const x = b().tensor(A, [m, k]);
        const w = b().weightTensor(halfArray(dtype, bits), [n, k]);
        const y = b().matmul(x, w, { transposeB: true });
        const r = await b().read(y);
        b().dispose(x, w, y);
        return r;
      });
      const want = naive(A, decode(dtype, bits), m, k, n, true);
      // 0 · Infinity is NaN in both; subnormal products may flush on a GPU, below any tolerance.
      for (let i = 0; i < want.length; i++) {
        if (!Number.isFinite(want[i]!)) expectSame([got[i]!], [want[i]!], `element ${i}`);
        else expect(Math.abs(got[i]! - want[i]!), `element ${i}`).toBeLessThanOrEqual(1e-6);
      }
    });
  }
});

describe('16-bit matmul, every kernel forced [webgpu]', () => {
  const gpu = useWebGpu();
  const VARIANTS: MatmulVariant[] = [
    { kernel: 'tiled', sm: 8, sn: 8, tk: 32 },
    { kernel: 'direct', wg: 64 },
    { kernel: 'gemv', wg: 64 },
  ];
  for (const dtype of ['f16', 'bf16'] as const) {
    for (const variant of VARIANTS) {
      it(`${dtype} ${variant.kernel}: same bits as the kernel on the f32 conversion`, async () => {
        for (const [m, k, n] of [
          [1, 7, 5],
          [7, 173, 33],
          [33, 65, 7],
        ] as const) {
          for (const transposeB of [true, false]) {
            const A = randn(m + k, m * k);
            const bits = encode(dtype, randn(n + k, n * k, 0.5));
            const dec = Float32Array.from(decode(dtype, bits));
            const [half, full] = await gpu().ctx.checked(async () => {
              const x = gpu().tensor(A, [m, k]);
              const shape = transposeB ? [n, k] : [k, n];
              const wh = gpu().weightTensor(halfArray(dtype, bits), shape);
              const wf = gpu().tensor(dec, shape);
              const yh = matmulGpu(gpu().ctx, x, wh, transposeB, variant);
              const yf = matmulGpu(gpu().ctx, x, wf, transposeB, variant);
              const r = [await gpu().read(yh), await gpu().read(yf)] as const;
              gpu().dispose(x, wh, wf, yh, yf);
              return r;
            });
            expectSame(half, full, `${variant.kernel} [${m}, ${k}, ${n}]${transposeB ? 'ᵀ' : ''}`);
          }
        }
      });
    }
  }
});

describeBackends('writeColumns', ({ b, checked }) => {
  it('copies a block of columns into place, leaving the others alone', async () => {
    const got = await checked(async () => {
      const dst = b().tensor(new Float32Array(12).fill(-1), [3, 4]);
      const src = b().tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
      b().writeColumns(dst, src, 1);
      const r = await b().read(dst);
      b().dispose(dst, src);
      return r;
    });
    expect(Array.from(got)).toEqual([-1, 1, 2, -1, -1, 3, 4, -1, -1, 5, 6, -1]);
  });

  it('refuses columns that do not fit, or rows that differ', async () => {
    const dst = b().zeros([2, 3]) as Tensor<'f32'>;
    const src = b().tensor(new Float32Array(4), [2, 2]);
    const other = b().tensor(new Float32Array(6), [3, 2]);
    try {
      expect(() => b().writeColumns(dst, src, 2)).toThrow(/columns 2\.\.3 do not fit in 3 columns/);
      expect(() => b().writeColumns(dst, other, 0)).toThrow(/same rows/);
    } finally {
      b().dispose(dst, src, other);
    }
  });
});
