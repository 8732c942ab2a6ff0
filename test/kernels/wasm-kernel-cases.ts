/**
 * The WebAssembly matmul (kernels/wasm/) against the TypeScript reference `matmulCpu`, on random
 * data: shapes whose M, N and K straddle the 4 × 8 register block and the k blocking, both layouts
 * of a and b, with and without a bias, b as a packed-once weight or packed per call, and 16-bit
 * weights. Shared by the browser suite (one thread, test/kernels/matmul-wasm.test.ts) and the Node
 * suite (a pool of threads, test/runtime/wasm-cpu-backend.test.ts).
 */
import { expect, it } from 'vitest';
import { CpuTensor, cpu, f32 } from '../../kernels/cpu-tensor';
import { matmulCpu } from '../../kernels/matmul.cpu';
import { attentionCpu } from '../../kernels/attention.cpu';
import { activationCpu, gatedActivationCpu } from '../../kernels/activation.cpu';
import { layernormCpu } from '../../kernels/layernorm.cpu';
import { rmsnormCpu } from '../../kernels/rmsnorm.cpu';
import { softmaxCpu } from '../../kernels/softmax.cpu';
import { topkCpu } from '../../kernels/topk.cpu';
import type { WasmKernels } from '../../kernels/wasm/wasm-kernels';
import { f32ToBf16Bits, f32ToF16Bits } from '../../runtime/formats/safetensors-dtypes';
import { TOL_ELEMENTWISE, expectClose, maxAbsDiff, randn } from './harness';

/** [M, K, N]: ones, GEMV rows, every remainder of 4 rows and 8 columns, k blocking (K > 1024). */
export const WASM_MATMUL_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 64, 512],
  [2, 3, 9],
  [3, 64, 172],
  [4, 5, 4],
  [5, 17, 15],
  [7, 173, 33],
  [33, 65, 7],
  [64, 2048, 70],
  [130, 1100, 24],
  [512, 64, 172],
];

export function wasmMatmulCases(kernels: () => WasmKernels): void {
  it('matches the TypeScript kernel: every layout, bias or not, weight or not', () => {
    let seed = 1;
    for (const [m, k, n] of WASM_MATMUL_SHAPES) {
      for (const transposeB of [true, false]) {
        for (const transposeA of [false, true]) {
          for (const withBias of [false, true]) {
            for (const weight of [false, true]) {
              const a = f32(randn(seed++, m * k, 1 / Math.sqrt(k)), transposeA ? [k, m] : [m, k]);
              const b = f32(randn(seed++, k * n), transposeB ? [n, k] : [k, n]);
              const bias = withBias ? f32(randn(seed++, n), [n]) : undefined;
              if (weight) kernels().markWeight(b);
              const want = cpu(matmulCpu(a, b, transposeB, transposeA, bias)).data;
              const what = `[${m},${k},${n}] tB=${transposeB} tA=${transposeA} bias=${withBias} weight=${weight}`;
              // Twice: a weight's second call reads its cached panels.
              for (let r = 0; r < 2; r++) {
                const got = kernels().matmul(a, b, transposeB, transposeA, bias);
                expect(got.shape).toEqual([m, n]);
                expectClose(cpu(got).data, want, TOL_ELEMENTWISE, what);
              }
              kernels().forget(b);
            }
          }
        }
      }
    }
  });

  it('decodes f16 and bf16 weights as the TypeScript kernel does (both layouts, weight or not)', () => {
    // [9, 77, 37]: remainders of rows and panels; [70, 1100, 300]: k blocked by 512 (each slice
    // widened again) and enough work to split over the pool's threads, each widening its own;
    // [1, …] and [3, …]: fewer rows than a block (widened in registers), k blocked, pooled.
    for (const [m, k, n] of [
      [9, 77, 37],
      [70, 1100, 300],
      [1, 1100, 2000],
      [3, 1027, 777],
    ] as const) {
      for (const dtype of ['f16', 'bf16'] as const) {
        for (const transposeB of [true, false]) {
          for (const weight of [true, false]) {
            const values = randn(7, k * n);
            const bits = Uint16Array.from(values, (v) =>
              dtype === 'f16' ? f32ToF16Bits(v) : f32ToBf16Bits(v),
            );
            const b = new CpuTensor(bits, transposeB ? [n, k] : [k, n], dtype);
            const a = f32(randn(8, m * k, 1 / Math.sqrt(k)), [m, k]);
            if (weight) kernels().markWeight(b);
            const want = cpu(matmulCpu(a, b, transposeB)).data;
            for (let r = 0; r < 2; r++) {
              expectClose(
                cpu(kernels().matmul(a, b, transposeB)).data,
                want,
                TOL_ELEMENTWISE,
                `[${m},${k},${n}] ${dtype} tB=${transposeB} weight=${weight}`,
              );
            }
            kernels().forget(b);
          }
        }
      }
    }
  });

  it('widens every 16-bit pattern as the TypeScript kernel: ±0, subnormals, normals, ±∞, NaN', () => {
    // ones [m, 1] · b for b = one row of 4096 bit patterns at a time: each output is one weight
    // times 1. m = 1 widens in registers (fewer rows than a block), m = 4 through the scratch.
    const k = 65536;
    const bits = Uint16Array.from({ length: k }, (_, i) => i);
    for (const m of [1, 4]) {
      for (const dtype of ['f16', 'bf16'] as const) {
        const cols = 4096;
        const ones = f32(new Float32Array(m).fill(1), [m, 1]);
        for (let j0 = 0; j0 < k; j0 += cols) {
          const slice = new CpuTensor(bits.slice(j0, j0 + cols), [1, cols], dtype);
          const got = cpu(kernels().matmul(ones, slice)).data;
          const ref = cpu(matmulCpu(ones, slice)).data;
          for (let i = 0; i < got.length; i++) {
            const what = `m=${m} ${dtype} bits 0x${(j0 + (i % cols)).toString(16)}`;
            if (Number.isNaN(ref[i]!)) {
              if (!Number.isNaN(got[i]!)) throw new Error(`${what}: ${got[i]}, want NaN`);
            } else if (!Object.is(got[i], ref[i])) throw new Error(`${what}: ${got[i]}, want ${ref[i]}`);
          }
        }
      }
    }
  });

  it('keeps a 16-bit weight packed as 16-bit (two bytes a value)', () => {
    const before = kernels().bytesInUse;
    const a = f32(randn(1, 6 * 40), [6, 40]);
    const w = new CpuTensor(Uint16Array.from(randn(2, 50 * 40), f32ToBf16Bits), [50, 40], 'bf16');
    kernels().markWeight(w);
    kernels().matmul(a, w, true);
    // 50 columns pad to 7 panels of 8: 40 · 56 values of 2 bytes.
    expect(kernels().bytesInUse - before).toBe(40 * 56 * 2);
    kernels().forget(w);
    expect(kernels().bytesInUse).toBe(before);
  });

  it('keeps a weight packed until it is forgotten, and frees every scratch byte', () => {
    const before = kernels().bytesInUse;
    const a = f32(randn(1, 6 * 40), [6, 40]);
    const w = f32(randn(2, 50 * 40), [50, 40]);
    kernels().markWeight(w);
    kernels().matmul(a, w, true);
    // 50 columns pad to 7 panels of 8: 40 · 56 floats.
    expect(kernels().bytesInUse - before).toBe(40 * 56 * 4);
    kernels().forget(w);
    expect(kernels().bytesInUse).toBe(before);
    kernels().matmul(a, f32(randn(3, 40 * 9), [40, 9]));
    expect(kernels().bytesInUse).toBe(before);
  });

  it('computes a wide output in column blocks as in one (f32 and 16-bit, bias, every layout)', () => {
    const before = kernels().outputChunkBytes;
    let seed = 40;
    try {
      for (const [m, k, n] of [
        [3, 40, 77],
        [9, 1100, 300],
        [70, 64, 45],
      ] as const) {
        for (const dtype of ['f32', 'bf16', 'f16'] as const) {
          for (const transposeB of [true, false]) {
            const values = randn(seed++, k * n);
            const shape = transposeB ? [n, k] : [k, n];
            const b =
              dtype === 'f32'
                ? f32(values, shape)
                : new CpuTensor(
                    Uint16Array.from(values, dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits),
                    shape,
                    dtype,
                  );
            const a = f32(randn(seed++, m * k, 1 / Math.sqrt(k)), [m, k]);
            const bias = f32(randn(seed++, n), [n]);
            kernels().markWeight(b);
            const want = cpu(matmulCpu(a, b, transposeB, false, bias)).data;
            // One panel of 8 columns per block, three, and all at once.
            for (const blockBytes of [1, m * 24 * 4, 1 << 30]) {
              kernels().outputChunkBytes = blockBytes;
              const got = cpu(kernels().matmul(a, b, transposeB, false, bias)).data;
              expectClose(
                got,
                want,
                TOL_ELEMENTWISE,
                `[${m},${k},${n}] ${dtype} tB=${transposeB} block=${blockBytes}`,
              );
            }
            kernels().forget(b);
          }
        }
      }
    } finally {
      kernels().outputChunkBytes = before;
    }
  });

  it('stays correct after the memory grows (views renewed, packed weights kept)', () => {
    const a = f32(randn(4, 3 * 16), [3, 16]);
    const w = f32(randn(5, 24 * 16), [24, 16]);
    kernels().markWeight(w);
    const want = cpu(matmulCpu(a, w, true)).data;
    expectClose(cpu(kernels().matmul(a, w, true)).data, want, TOL_ELEMENTWISE, 'before');
    // A product whose operands need ~40 MB of scratch grows the memory past its first pages.
    const big = f32(randn(6, 2000 * 2500, 0.01), [2000, 2500]);
    const x = f32(randn(7, 2 * 2000), [2, 2000]);
    expectClose(cpu(kernels().matmul(x, big)).data, cpu(matmulCpu(x, big)).data, TOL_ELEMENTWISE, 'large');
    expectClose(cpu(kernels().matmul(a, w, true)).data, want, TOL_ELEMENTWISE, 'after');
    kernels().forget(w);
  });
}

/**
 * [t, nHeads, nKvHeads, headDim, pos0, tk, window]: one query, GQA groups, a KV cache longer
 * than the queries reach, sliding windows, headDims that take each of the kernel's 16-, 8- and
 * 4-wide loops (and 6, which the TypeScript kernel keeps).
 */
export const WASM_ATTENTION_SHAPES: [number, number, number, number, number, number, number | undefined][] = [
  [1, 1, 1, 4, 0, 1, undefined],
  [1, 8, 4, 8, 37, 40, undefined],
  [5, 8, 4, 8, 0, 5, undefined],
  [33, 4, 2, 12, 0, 33, undefined],
  [17, 3, 1, 64, 3, 30, undefined],
  [40, 2, 2, 36, 0, 40, 7],
  [9, 2, 1, 6, 0, 9, undefined],
  [130, 12, 12, 64, 0, 130, undefined],
];

export function wasmAttentionCases(kernels: () => WasmKernels): void {
  it('attention matches the TypeScript kernel (GQA, KV cache, windows, every headDim loop)', () => {
    let seed = 100;
    for (const [t, nHeads, nKvHeads, headDim, pos0, tk, window] of WASM_ATTENTION_SHAPES) {
      const q = f32(randn(seed++, t * nHeads * headDim), [t, nHeads * headDim]);
      const k = f32(randn(seed++, tk * nKvHeads * headDim), [tk, nKvHeads * headDim]);
      const v = f32(randn(seed++, tk * nKvHeads * headDim), [tk, nKvHeads * headDim]);
      const opts = { nHeads, nKvHeads, headDim, pos0, ...(window ? { window } : {}) };
      const want = cpu(attentionCpu(q, k, v, opts).out).data;
      const got = kernels().attention(q, k, v, opts);
      expect(got.out.shape).toEqual([t, nHeads * headDim]);
      expectClose(
        cpu(got.out).data,
        want,
        TOL_ELEMENTWISE,
        `[${t},${nHeads},${nKvHeads},${headDim},${pos0},${tk},${window}]`,
      );
    }
  });

  it("attention with Gemma 2's soft-cap matches the TypeScript kernel, scores near 0 and far out", () => {
    let seed = 300;
    for (const [t, nHeads, nKvHeads, headDim, pos0, tk, window] of WASM_ATTENTION_SHAPES) {
      // Cap 50 (Gemma 2's) keeps scores/cap small (the series); cap 2 with 4× larger q saturates.
      for (const [softcap, qScale] of [
        [50, 1],
        [2, 4],
      ] as const) {
        const q = f32(randn(seed++, t * nHeads * headDim, qScale), [t, nHeads * headDim]);
        const k = f32(randn(seed++, tk * nKvHeads * headDim), [tk, nKvHeads * headDim]);
        const v = f32(randn(seed++, tk * nKvHeads * headDim), [tk, nKvHeads * headDim]);
        const opts = { nHeads, nKvHeads, headDim, pos0, softcap, ...(window ? { window } : {}) };
        const want = cpu(attentionCpu(q, k, v, opts).out).data;
        const capless = cpu(attentionCpu(q, k, v, { ...opts, softcap: 0 }).out).data;
        const got = cpu(kernels().attention(q, k, v, opts).out).data;
        const what = `[${t},${nHeads},${nKvHeads},${headDim},${pos0},${tk},${window}] cap ${softcap}`;
        expectClose(got, want, TOL_ELEMENTWISE, what);
        // The cap changes the answer at this scale (so a kernel ignoring it fails).
        if (softcap === 2 && t > 1) expect(maxAbsDiff(capless, want).diff).toBeGreaterThan(0.05);
      }
    }
  });

  it("attention with anything beyond `out` gives the TypeScript kernel's full result", () => {
    const q = f32(randn(1, 6 * 16), [6, 16]);
    const k = f32(randn(2, 6 * 8), [6, 8]);
    const v = f32(randn(3, 6 * 8), [6, 8]);
    const opts = { nHeads: 2, nKvHeads: 1, headDim: 8, returnProbs: true, softcap: 5 };
    const want = attentionCpu(q, k, v, opts);
    const got = kernels().attention(q, k, v, opts);
    expect(cpu(got.probs!).data).toEqual(cpu(want.probs!).data);
    expect(cpu(got.out).data).toEqual(cpu(want.out).data);
  });
}

export function wasmActivationCases(kernels: () => WasmKernels): void {
  it('silu and gelu_tanh (plain and gated) match the TypeScript kernels, tails and extremes included', () => {
    // Values over [−30, 30] plus a few far out, and odd lengths (the scalar tail).
    for (const n of [1, 3, 4, 7, 1001]) {
      const x = randn(n, n, 6);
      if (n > 7) x.set([-100, -30, -10, 0, 10, 30, 100], 0);
      const up = randn(n + 1, n);
      for (const kind of ['silu', 'gelu_tanh'] as const) {
        const xt = f32(x, [n]);
        const ut = f32(up, [n]);
        expectClose(
          cpu(kernels().activation(xt, kind)).data,
          cpu(activationCpu(xt, kind)).data,
          TOL_ELEMENTWISE,
          kind,
        );
        expectClose(
          cpu(kernels().activation(xt, kind, ut)).data,
          cpu(gatedActivationCpu(xt, ut, kind)).data,
          TOL_ELEMENTWISE,
          `gated ${kind}`,
        );
      }
    }
  });

  it("other activation kinds give the TypeScript kernel's values exactly", () => {
    const x = f32(randn(3, 50, 3), [5, 10]);
    for (const kind of ['gelu', 'relu', 'sigmoid'] as const) {
      expect(cpu(kernels().activation(x, kind)).data).toEqual(cpu(activationCpu(x, kind)).data);
    }
  });
}

export function wasmNormCases(kernels: () => WasmKernels): void {
  it('rmsnorm (rows and groups) and layernorm (bias or not, a large common offset) match the TypeScript kernels', () => {
    for (const [rows, cols] of [
      [1, 4],
      [3, 12],
      [7, 64],
      [5, 768],
    ] as const) {
      const x = f32(randn(rows * cols, rows * cols, 2), [rows, cols]);
      const w = f32(randn(cols, cols), [cols]);
      const b = f32(randn(cols + 1, cols), [cols]);
      const what = `[${rows},${cols}]`;
      expectClose(
        cpu(kernels().rmsnorm(x, w, 1e-5)).data,
        cpu(rmsnormCpu(x, w, 1e-5)).data,
        TOL_ELEMENTWISE,
        `rms ${what}`,
      );
      for (const bias of [b, undefined]) {
        expectClose(
          cpu(kernels().layernorm(x, w, bias, 1e-5)).data,
          cpu(layernormCpu(x, w, bias, 1e-5)).data,
          TOL_ELEMENTWISE,
          `ln ${what}`,
        );
      }
      // Every value 1000 + noise: the offset must not cost the float32 sums their accuracy.
      const off = f32(
        Float32Array.from(x.data, (v) => 1000 + v),
        [rows, cols],
      );
      expectClose(
        cpu(kernels().layernorm(off, w, b, 1e-5)).data,
        cpu(layernormCpu(off, w, b, 1e-5)).data,
        TOL_ELEMENTWISE,
        `ln offset ${what}`,
      );
    }
    const q = f32(randn(9, 6 * 32), [6, 32]);
    const gw = f32(randn(10, 8), [8]);
    expectClose(
      cpu(kernels().rmsnorm(q, gw, 1e-6, 8)).data,
      cpu(rmsnormCpu(q, gw, 1e-6, { groupSize: 8 })).data,
      TOL_ELEMENTWISE,
      'rms groups',
    );
    // A width that is not a multiple of 4 runs the TypeScript kernel.
    const odd = f32(randn(11, 3 * 7), [3, 7]);
    const ow = f32(randn(12, 7), [7]);
    expect(cpu(kernels().rmsnorm(odd, ow, 1e-5)).data).toEqual(cpu(rmsnormCpu(odd, ow, 1e-5)).data);
  });
}

export function wasmRowCases(kernels: () => WasmKernels): void {
  it('softmax matches the TypeScript kernel: odd widths, long rows, −∞ entries, large logits', () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 7],
      [4, 64],
      [2, 1001],
      [2, 50257],
    ] as const) {
      const x = randn(rows * cols + 1, rows * cols, 8);
      if (cols > 7) x.set([-Infinity, 80, -80, -Infinity], 3); // masked keys and far-apart logits
      const t = f32(x, [rows, cols]);
      expectClose(cpu(kernels().softmax(t)).data, cpu(softmaxCpu(t)).data, 1e-6, `softmax [${rows},${cols}]`);
      const got = cpu(kernels().softmax(t)).data;
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += got[r * cols + c]!;
        expect(s).toBeCloseTo(1, 5);
      }
    }
  });

  it('softmax and attention turn a NaN into NaN, as the TypeScript kernels do (never a finite answer)', () => {
    const x = randn(77, 3 * 9, 2);
    x[9 + 4] = NaN; // row 1
    const t = f32(x, [3, 9]);
    const got = cpu(kernels().softmax(t)).data;
    const want = cpu(softmaxCpu(t)).data;
    for (let i = 0; i < got.length; i++) expect(Number.isNaN(got[i]!)).toBe(Number.isNaN(want[i]!));
    expect(Number.isNaN(got[9 + 4]!)).toBe(true);
    // A NaN key: every query that sees it (and only those) gets NaN.
    const [T, H, hd] = [6, 2, 8];
    const q = f32(randn(78, T * H * hd), [T, H * hd]);
    const kk = randn(79, T * H * hd);
    kk[3 * H * hd + 1] = NaN; // key 3, head 0
    const k = f32(kk, [T, H * hd]);
    const v = f32(randn(80, T * H * hd), [T, H * hd]);
    const opts = { nHeads: H, nKvHeads: H, headDim: hd };
    const out = cpu(kernels().attention(q, k, v, opts).out).data;
    const ref = cpu(attentionCpu(q, k, v, opts).out).data;
    for (let i = 0; i < out.length; i++) expect(Number.isNaN(out[i]!)).toBe(Number.isNaN(ref[i]!));
    expect(Number.isNaN(out[5 * H * hd])).toBe(true);
    expect(Number.isNaN(out[2 * H * hd])).toBe(false);
  });

  it('top-k gives the TypeScript kernel exactly: ties to the lower index, ±∞, signed zeros', () => {
    for (const [rows, cols, k] of [
      [1, 1, 1],
      [3, 10, 3],
      [5, 64, 8],
      [2, 1000, 64],
      [4, 300, 1],
    ] as const) {
      const x = randn(rows * cols + 2, rows * cols, 3);
      // Rounded to halves: many exact ties.
      for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i]! * 2) / 2;
      if (cols >= 10) x.set([Infinity, -Infinity, -0, 0, Infinity, 2, 2], 1);
      const t = f32(x, [rows, cols]);
      const got = kernels().topk(t, k);
      const want = topkCpu(t, k);
      expect(got.values.shape).toEqual([rows, k]);
      expect(cpu(got.indices).data).toEqual(cpu(want.indices).data);
      expect(cpu(got.values).data).toEqual(cpu(want.values).data);
    }
  });

  it('top-k past the WebAssembly path (large k, a NaN) gives the TypeScript result, and refuses a bad k alike', () => {
    const x = f32(randn(4, 2 * 200), [2, 200]);
    expect(cpu(kernels().topk(x, 150).indices).data).toEqual(cpu(topkCpu(x, 150).indices).data);
    const withNan = f32(
      Float32Array.from(x.data, (v, i) => (i === 7 ? NaN : v)),
      [2, 200],
    );
    expect(cpu(kernels().topk(withNan, 4).indices).data).toEqual(cpu(topkCpu(withNan, 4).indices).data);
    expect(() => kernels().topk(x, 201)).toThrow(/k=201 must be an integer in \[1, 200\]/);
  });
}
