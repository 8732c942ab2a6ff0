/**
 * The WebAssembly kernels in Chromium (the page's main thread cannot block, so one thread: the
 * pool is tested in Node by test/runtime/wasm-cpu-backend.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWasmKernels, type WasmKernels } from '../../kernels/wasm/wasm-kernels';
import {
  wasmActivationCases,
  wasmAttentionCases,
  wasmMatmulCases,
  wasmNormCases,
  wasmRowCases,
} from './wasm-kernel-cases';

describe('matmul [wasm, browser]', () => {
  let k: WasmKernels;
  beforeAll(async () => {
    const loaded = await loadWasmKernels({ threads: 4 });
    if (!loaded) throw new Error('WebAssembly SIMD is missing in this Chromium');
    k = loaded;
  });
  afterAll(() => k.destroy());

  it('runs on the page thread alone (a page cannot Atomics.wait)', () => {
    expect(k.threads).toBe(1);
  });

  it('uses relaxed SIMD (fused multiply-add), which Chromium ships', () => {
    expect(k.relaxed).toBe(true);
  });

  wasmMatmulCases(() => k);
  wasmAttentionCases(() => k);
  wasmActivationCases(() => k);
  wasmNormCases(() => k);
  wasmRowCases(() => k);
});

describe('kernels [wasm without relaxed SIMD, browser]', () => {
  let k: WasmKernels;
  beforeAll(async () => {
    k = (await loadWasmKernels({ threads: 1, relaxed: false }))!;
  });
  afterAll(() => k.destroy());

  wasmMatmulCases(() => k);
  wasmAttentionCases(() => k);
  wasmActivationCases(() => k);
  wasmNormCases(() => k);
  wasmRowCases(() => k);
});
