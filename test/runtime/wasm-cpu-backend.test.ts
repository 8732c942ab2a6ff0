/**
 * The CPU backend with its WebAssembly kernels in Node: a pool of worker threads sharing the wasm
 * memory (matmul split by column panels) against the TypeScript reference, and whole-model logits
 * against the reference backend's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend, createFastCpuBackend } from '../../kernels/cpu-backend';
import { CpuTensor, cpu, f32 } from '../../kernels/cpu-tensor';
import { matmulCpu } from '../../kernels/matmul.cpu';
import { rmsnormCpu } from '../../kernels/rmsnorm.cpu';
import { softmaxCpu } from '../../kernels/softmax.cpu';
import { loadWasmKernels, type WasmKernels } from '../../kernels/wasm/wasm-kernels';
import { f32ToBf16Bits } from '../../runtime/formats/safetensors-dtypes';
import { buildTokenStream } from '../../runtime';
import { TOL_ELEMENTWISE, expectClose, randn } from '../kernels/harness';
import {
  wasmActivationCases,
  wasmAttentionCases,
  wasmMatmulCases,
  wasmNormCases,
  wasmRowCases,
} from '../kernels/wasm-kernel-cases';
import { loadStories260K } from '../helpers/stories260k';
import { readShared, TINYSTORIES_VALID } from '../helpers/shared-paths';

describe('matmul [wasm, 3 threads]', () => {
  let k: WasmKernels;
  beforeAll(async () => {
    k = (await loadWasmKernels({ threads: 3 }))!;
  });
  afterAll(() => k.destroy());

  it('has its pool', () => {
    expect(k.threads).toBe(3);
    // Node 20's V8 has relaxed SIMD behind a flag the loader switches on.
    expect(k.relaxed).toBe(true);
    expect(k.description).toBe('WebAssembly relaxed SIMD (FMA), 3 threads');
  });

  wasmMatmulCases(() => k);
  wasmAttentionCases(() => k);
  wasmActivationCases(() => k);
  wasmNormCases(() => k);
  wasmRowCases(() => k);

  it('splits large products across the threads (uneven panel shares, a remainder of rows)', () => {
    for (const [m, kk, n] of [
      [67, 300, 200],
      [1, 768, 3072],
      [515, 64, 512],
    ] as const) {
      const a = f32(randn(m, m * kk, 1 / Math.sqrt(kk)), [m, kk]);
      const w = f32(randn(n, n * kk), [n, kk]);
      const bias = f32(randn(3, n), [n]);
      k.markWeight(w);
      expectClose(
        cpu(k.matmul(a, w, true, false, bias)).data,
        cpu(matmulCpu(a, w, true, false, bias)).data,
        TOL_ELEMENTWISE,
        `[${m},${kk},${n}]`,
      );
      k.forget(w);
    }
  });
});

describe('kernels [wasm without relaxed SIMD: mul + add, 2 threads]', () => {
  let k: WasmKernels;
  beforeAll(async () => {
    k = (await loadWasmKernels({ threads: 2, relaxed: false }))!;
  });
  afterAll(() => k.destroy());

  it('is the plain SIMD build', () => {
    expect(k.relaxed).toBe(false);
    expect(k.description).toBe('WebAssembly SIMD, 2 threads');
  });

  wasmMatmulCases(() => k);
  wasmAttentionCases(() => k);
  wasmActivationCases(() => k);
  wasmNormCases(() => k);
  wasmRowCases(() => k);
});

describe('CPU backend with WebAssembly kernels', () => {
  it('gives stories260K the reference logits within 1e-4 (512 tokens)', async () => {
    const fast = await createFastCpuBackend({ threads: 2 });
    expect(fast.description).toBe('CPU (WebAssembly relaxed SIMD (FMA), 2 threads)');
    const ref = loadStories260K(createCpuBackend());
    const ours = loadStories260K(fast);
    const tokens = buildTokenStream(
      ref.tokenizer,
      new TextDecoder().decode(readShared(TINYSTORIES_VALID)),
    ).tokens.slice(0, 512);
    const want = await ref.model.backend.read(await ref.model.forward(tokens));
    const got = await fast.read(await ours.model.forward(tokens));
    expectClose(got, want, 1e-4, 'logits');
    fast.destroy();
  });
});

describe('wasm kernels past their memory', () => {
  it('a weight past the packed-weight budget is packed per call, and the result is the same', async () => {
    const k = (await loadWasmKernels({ threads: 1, packedWeightBudget: 1024 }))!;
    try {
      const a = f32(randn(1, 3 * 40), [3, 40]);
      const w = f32(randn(2, 40 * 24), [40, 24]);
      k.markWeight(w);
      for (let i = 0; i < 2; i++) {
        expectClose(cpu(k.matmul(a, w)).data, cpu(matmulCpu(a, w)).data, TOL_ELEMENTWISE, 'over budget');
        expect(k.bytesInUse, 'nothing stays resident').toBe(0);
      }
      k.packedWeightBudget = 1 << 20;
      k.matmul(a, w);
      expect(k.bytesInUse, 'within the budget the weight stays packed').toBeGreaterThan(0);
    } finally {
      k.destroy();
    }
  });

  it("a wide product's output is held a block at a time: the memory stays far below the output's size", async () => {
    const k = (await loadWasmKernels({ threads: 1 }))!;
    try {
      // 256 tokens × a 40,000-word vocabulary: 41 MB of logits; weights 5 MB as bf16.
      const [m, d, vocab] = [256, 64, 40_000];
      const a = f32(randn(10, m * d, 1 / 8), [m, d]);
      const w = new CpuTensor(Uint16Array.from(randn(11, vocab * d), f32ToBf16Bits), [vocab, d], 'bf16');
      k.markWeight(w);
      k.outputChunkBytes = 4 << 20;
      const got = cpu(k.matmul(a, w, true)).data;
      expect(k.memoryBytes).toBeLessThan(16 << 20);
      expectClose(got, cpu(matmulCpu(a, w, true)).data, TOL_ELEMENTWISE, 'blocked logits');
    } finally {
      k.destroy();
    }
  });

  it('a call past the memory limit runs the TypeScript kernel instead of failing', async () => {
    const k = (await loadWasmKernels({ threads: 1, maxMemoryBytes: 1 << 20 }))!;
    try {
      // 2 × 2^16 floats in and out: past 1 MiB of wasm memory.
      const x = f32(randn(5, 2 * 2 ** 16, 4), [2, 2 ** 16]);
      expect(cpu(k.softmax(x)).data).toEqual(cpu(softmaxCpu(x)).data);
      const w = f32(randn(6, 2 ** 16), [2 ** 16]);
      expect(cpu(k.rmsnorm(x, w, 1e-5)).data).toEqual(cpu(rmsnormCpu(x, w, 1e-5)).data);
      const a = f32(randn(7, 64 * 512), [64, 512]);
      const b = f32(randn(8, 512 * 512), [512, 512]);
      k.markWeight(b);
      expect(cpu(k.matmul(a, b)).data).toEqual(cpu(matmulCpu(a, b)).data);
      expect(k.bytesInUse).toBe(0);
      // Small calls still run in wasm (within 1e-4 of the reference, not bit-equal).
      const s = f32(randn(9, 4 * 64), [4, 64]);
      expectClose(cpu(k.softmax(s)).data, cpu(softmaxCpu(s)).data, 1e-6, 'small softmax');
    } finally {
      k.destroy();
    }
  });
});
