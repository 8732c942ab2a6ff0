/**
 * The real model on both backends inside Chromium: a full 512-token window of stories260K gives the
 * same logits on WebGPU as on the CPU reference (max |diff| ≤ 1e-3), and greedy decoding on WebGPU
 * reproduces llama2.c's text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { createWebGpuBackend, type WebGpuBackend } from '../../kernels/webgpu-backend';
import { buildTokenStream, loadLlama2c } from '../../runtime';
import { generate } from '../../runtime/generate';
import { maxAbsDiff } from '../kernels/harness';
import { fetchShared } from './shared-files';

type Loaded = Awaited<ReturnType<typeof loadLlama2c>>;

describe('stories260K in Chromium, webgpu vs cpu', () => {
  let cpu: Loaded;
  let gpu: Loaded;
  let gpuBackend: WebGpuBackend;
  let cpuBackend: Backend;
  let window: Int32Array;

  beforeAll(async () => {
    const [model, tok, text] = await Promise.all([
      fetchShared('models/stories260K/stories260K.bin'),
      fetchShared('models/stories260K/tok512.bin'),
      fetchShared('data/tinystories-valid-1000.txt'),
    ]);
    cpuBackend = createCpuBackend();
    gpuBackend = await createWebGpuBackend();
    cpu = await loadLlama2c(cpuBackend, model, 'stories260K.bin', tok, 'tok512.bin');
    gpu = await loadLlama2c(gpuBackend, model, 'stories260K.bin', tok, 'tok512.bin');
    const docs = new TextDecoder().decode(text).split('<|endoftext|>').slice(0, 12).join('<|endoftext|>');
    const stream = buildTokenStream(cpu.tokenizer, docs).tokens;
    expect(stream.length).toBeGreaterThanOrEqual(512);
    window = stream.slice(0, 512);
  });

  afterAll(() => {
    cpu?.model.dispose();
    gpu?.model.dispose();
    expect(gpuBackend.ctx.pool.liveBuffers, 'GPU buffers leaked by the forward pass').toBe(0);
    gpuBackend?.destroy();
  });

  it('full 512-token window logits agree within 1e-3', async () => {
    const lc = cpu.model.forward(window);
    const lg = gpu.model.forward(window);
    const [a, b] = await Promise.all([
      cpuBackend.read(await lc),
      gpuBackend.ctx.checked(async () => gpuBackend.read(await lg)),
    ]);
    expect(a.length).toBe(512 * 512);
    const { diff, at } = maxAbsDiff(b, a);
    console.log(`512-token logits: max |webgpu − cpu| = ${diff.toExponential(3)} at ${at}`);
    expect(diff).toBeLessThanOrEqual(1e-3);
    cpuBackend.dispose(await lc);
    gpuBackend.dispose(await lg);
  });

  it('greedy generation on webgpu reproduces llama2.c', async () => {
    const r = await generate(gpu.model, gpu.tokenizer, { prompt: '', steps: 64, temperature: 0 });
    expect(r.text).toMatch(
      /^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\. One day, she saw a big, red ball\./,
    );
  });
});
