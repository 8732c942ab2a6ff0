/**
 * The pruning lab on WebGPU inside Chromium: pruned weights made on the device (bit-packed masks
 * through `applyMask`, SparseGPT values uploaded) give the same held-out loss as on the CPU
 * reference, the dense weights stay intact (the dense loss is unchanged afterwards), and Wanda
 * calibrated on the GPU chooses the same masks as on the CPU.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluatePruned,
  evaluateTokens,
  parsePattern,
  preparePruningText,
  pruneModel,
  type PruningText,
} from '../../analyses/pruning';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { createWebGpuBackend, type WebGpuBackend } from '../../kernels/webgpu-backend';
import { loadLlama2c } from '../../runtime';
import { fetchShared } from './shared-files';

type Loaded = Awaited<ReturnType<typeof loadLlama2c>>;

describe('pruning on webgpu vs cpu (stories260K)', () => {
  let cpu: Loaded;
  let gpu: Loaded;
  let gpuBackend: WebGpuBackend;
  let prepared: PruningText;

  beforeAll(async () => {
    const [model, tok, text] = await Promise.all([
      fetchShared('models/stories260K/stories260K.bin'),
      fetchShared('models/stories260K/tok512.bin'),
      fetchShared('data/tinystories-valid-1000.txt'),
    ]);
    gpuBackend = await createWebGpuBackend();
    cpu = loadLlama2c(createCpuBackend(), model, 'stories260K.bin', tok, 'tok512.bin');
    gpu = loadLlama2c(gpuBackend, model, 'stories260K.bin', tok, 'tok512.bin');
    const docs = new TextDecoder().decode(text).split('<|endoftext|>').slice(0, 60).join('<|endoftext|>');
    prepared = preparePruningText(cpu.model, cpu.tokenizer, docs, { calibrationWindows: 1, maxWindows: 1 });
  });

  afterAll(() => {
    gpu.model.dispose();
    expect(gpuBackend.ctx.pool.liveBuffers, 'GPU buffers leaked').toBe(0);
    gpuBackend.destroy();
  });

  for (const [method, pattern] of [
    ['magnitude', 'unstructured'],
    ['wanda', '2:4'],
    ['sparsegpt', 'unstructured'],
  ] as const) {
    it(`${method} ${pattern} at 50 %: same masks and loss (within 1e-3) on both backends`, async () => {
      const options = {
        method,
        pattern: parsePattern(pattern),
        sparsity: 0.5,
        calibration: prepared.calibration,
      };
      const denseCpu = await evaluateTokens(cpu.model, prepared.tokens);
      const denseGpu = await evaluateTokens(gpu.model, prepared.tokens);
      const onCpu = await pruneModel(cpu.model, options);
      const onGpu = await pruneModel(gpu.model, options);
      if (method !== 'sparsegpt') {
        // Scores compare float sums that can differ in the last bit: allow a few swapped ties.
        let differ = 0;
        onCpu.weights.forEach((w, i) =>
          w.mask.forEach((m, j) => (differ += m !== onGpu.weights[i]!.mask[j] ? 1 : 0)),
        );
        expect(differ / onCpu.total).toBeLessThan(1e-3);
      }
      const lossCpu = (await evaluatePruned(cpu.model, prepared.tokens, onCpu, denseCpu.argmax)).loss;
      const lossGpu = (await evaluatePruned(gpu.model, prepared.tokens, onGpu, denseGpu.argmax)).loss;
      expect(Math.abs(lossGpu - lossCpu)).toBeLessThan(1e-3);
      expect(lossGpu).toBeGreaterThan(denseGpu.loss);
      // The dense weights were never touched.
      expect((await evaluateTokens(gpu.model, prepared.tokens)).loss).toBe(denseGpu.loss);
    });
  }
});
