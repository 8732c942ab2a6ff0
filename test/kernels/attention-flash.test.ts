/**
 * The flash-style attention kernel (kernels/attention-flash.wgsl: blocks of queries, tiles of keys
 * in workgroup memory, online softmax), forced on the WebGPU backend and compared with the CPU
 * reference (attentionCpu) and with the row-per-query kernel: partial query blocks and key tiles,
 * a KV cache (pos0 > 0, extra cache rows), grouped-query heads, a sliding window, soft-capping and
 * head sizes down to 4. Then the rule that picks it (long windows on a real GPU), and the model's
 * attention through the Backend method with both kernels.
 */
import { describe, expect, it } from 'vitest';
import type { AttentionOptions, Backend } from '../../kernels/backend';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { attentionGpu, attentionKernel, flashUnfit, type AttentionKernel } from '../../kernels/attention';
import { expectClose, randn, TOL_ELEMENTWISE, useWebGpu } from './harness';

interface Case extends AttentionOptions {
  t: number;
  tk: number;
}

const CASES: Case[] = [
  { t: 1, tk: 1, nHeads: 1, nKvHeads: 1, headDim: 4 },
  { t: 70, tk: 70, nHeads: 2, nKvHeads: 1, headDim: 8 }, // a partial second block, GQA
  { t: 100, tk: 100, nHeads: 2, nKvHeads: 2, headDim: 16, window: 37 }, // sliding window
  { t: 33, tk: 140, nHeads: 4, nKvHeads: 2, headDim: 12, pos0: 90 }, // KV cache with spare rows
  { t: 65, tk: 65, nHeads: 1, nKvHeads: 1, headDim: 64, softcap: 5, scale: 0.3 },
  { t: 150, tk: 150, nHeads: 2, nKvHeads: 1, headDim: 32 },
];

const ref = createCpuBackend();

async function attend(be: Backend, c: Case, seed: number, kernel?: AttentionKernel): Promise<Float32Array> {
  const q = be.tensor<'f32'>(randn(seed, c.t * c.nHeads * c.headDim), [c.t, c.nHeads * c.headDim]);
  const k = be.tensor<'f32'>(randn(seed + 1, c.tk * c.nKvHeads * c.headDim), [c.tk, c.nKvHeads * c.headDim]);
  const v = be.tensor<'f32'>(randn(seed + 2, c.tk * c.nKvHeads * c.headDim), [c.tk, c.nKvHeads * c.headDim]);
  let out: ReturnType<Backend['attention']>['out'] | undefined;
  try {
    out =
      kernel === undefined
        ? be.attention(q, k, v, c).out
        : attentionGpu((be as unknown as { ctx: Parameters<typeof attentionGpu>[0] }).ctx, q, k, v, c, kernel)
            .out;
    return Float32Array.from(await be.read(out));
  } finally {
    be.dispose(q, k, v, out);
  }
}

describe('flash attention [webgpu] (forced, vs the CPU reference and the row kernel)', () => {
  const gpu = useWebGpu();

  for (const [i, c] of CASES.entries()) {
    it(`t ${c.t}, tk ${c.tk}, heads ${c.nHeads}/${c.nKvHeads}, hd ${c.headDim}${c.pos0 ? `, pos0 ${c.pos0}` : ''}${c.window ? `, window ${c.window}` : ''}${c.softcap ? ', softcap' : ''}`, async () => {
      const want = await attend(ref, c, 10 * i);
      const flash = await gpu().ctx.checked(() => attend(gpu(), c, 10 * i, 'flash'));
      const rows = await gpu().ctx.checked(() => attend(gpu(), c, 10 * i, 'rows'));
      expectClose(flash, want, TOL_ELEMENTWISE, 'flash vs cpu');
      expectClose(flash, rows, TOL_ELEMENTWISE, 'flash vs rows');
    });
  }

  it('is refused for what it does not compute, with the reason', async () => {
    const device = gpu().ctx.device;
    const o = { nHeads: 1, nKvHeads: 1, headDim: 8 };
    expect(flashUnfit(device, 8, o)).toBeUndefined();
    expect(flashUnfit(device, 8, { ...o, returnProbs: true })).toMatch(/output only/);
    expect(flashUnfit(device, 8, { ...o, returnRowStats: true })).toMatch(/output only/);
    expect(flashUnfit(device, 6, { ...o, headDim: 6 })).toMatch(/not a multiple of 4/);
    await expect(
      attend(gpu(), { t: 4, tk: 4, nHeads: 1, nKvHeads: 1, headDim: 6 }, 1, 'flash'),
    ).rejects.toThrow(/headDim 6/);
  });

  it('is chosen for long windows on a real GPU only, never for patterns or decode steps', () => {
    const device = gpu().ctx.device;
    const emulated = /swiftshader|llvmpipe|lavapipe/i.test(
      `${device.adapterInfo?.vendor} ${device.adapterInfo?.architecture} ${device.adapterInfo?.description}`,
    );
    const o = { nHeads: 12, nKvHeads: 12, headDim: 64 };
    const long = attentionKernel(device, { t: 1024, pos0: 0, headDim: 64 }, o);
    expect(long).toBe(emulated ? 'rows' : 'flash');
    expect(attentionKernel(device, { t: 64, pos0: 0, headDim: 64 }, o)).toBe('rows'); // short window
    expect(attentionKernel(device, { t: 1, pos0: 1000, headDim: 64 }, o)).toBe('rows'); // decode step
    expect(attentionKernel(device, { t: 1024, pos0: 0, headDim: 64 }, { ...o, window: 64 })).toBe('rows');
    expect(attentionKernel(device, { t: 1024, pos0: 0, headDim: 64 }, { ...o, returnProbs: true })).toBe(
      'rows',
    );
  });
});
