/**
 * The matmul autotune over a real model in Chromium (runtime/model/autotune.ts, forced: the
 * adapter here is SwiftShader, which is otherwise not tuned): the products of a prefill and a
 * decode step are recorded, every class gets a choice that fits it, and the model's logits with
 * the tuned kernels still match the CPU backend within 1e-3.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { matmulUnfit } from '../../kernels/matmul';
import { setMatmulTuneStore, localStorageStore } from '../../kernels/matmul-tune-cache';
import { createWebGpuBackend } from '../../kernels/webgpu-backend';
import { loadLlama2c } from '../../runtime';
import { autotuneModel } from '../../runtime/model/autotune';
import { maxAbsDiff } from '../kernels/harness';
import { fetchShared } from './shared-files';

describe('autotuneModel on stories260K (webgpu, forced)', () => {
  afterAll(() => setMatmulTuneStore(localStorageStore()));

  it('tunes every recorded class and keeps the logits', async () => {
    setMatmulTuneStore(undefined);
    const [bin, tok] = await Promise.all([
      fetchShared('models/stories260K/stories260K.bin'),
      fetchShared('models/stories260K/tok512.bin'),
    ]);
    const gpu = await createWebGpuBackend();
    const cpu = createCpuBackend();
    const g = await loadLlama2c(gpu, bin, 'stories260K.bin', tok, 'tok512.bin');
    const c = await loadLlama2c(cpu, bin, 'stories260K.bin', tok, 'tok512.bin');
    try {
      const tokens = Array.from({ length: 24 }, (_, i) => (i * 37 + 1) % 512);
      const report = await autotuneModel(g.model, tokens, { force: true, reps: 1 });
      // Prefill (m = 24) and decode (m = 1) products: q/k/v/o, the MLP, the head.
      expect(report.some((e) => e.shapeClass.includes(':m32:'))).toBe(true);
      expect(report.some((e) => e.shapeClass.includes(':mlt4:'))).toBe(true);
      for (const e of report) {
        expect(e.skipped, e.shapeClass).toBeUndefined();
        expect(matmulUnfit(gpu.ctx.device, e.chosen!, e.shape)).toBeUndefined();
        expect(e.rejected ?? [], e.shapeClass).toEqual([]);
      }
      console.log(
        'stories260K autotune choices:',
        JSON.stringify(Object.fromEntries(report.map((e) => [e.shapeClass, e.chosen]))),
      );
      const [lg, lc] = [await g.model.forward(tokens), await c.model.forward(tokens)];
      const diff = maxAbsDiff(await gpu.read(lg), await cpu.read(lc)).diff;
      gpu.dispose(lg);
      cpu.dispose(lc);
      expect(diff).toBeLessThan(1e-3);
    } finally {
      g.model.dispose();
      c.model.dispose();
      expect(gpu.ctx.pool.liveBuffers, 'GPU buffers left by the autotune').toBe(0);
      gpu.destroy();
    }
  });
});
