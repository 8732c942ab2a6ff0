/**
 * Flash attention inside a real model: stories260K's full 512-token window on WebGPU with every
 * layer's attention on the flash kernel (preferred: the rule keeps SwiftShader on the row kernel)
 * gives the CPU backend's logits within 1e-3, and the same as the row kernel.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { preferAttentionKernel } from '../../kernels/attention';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { createWebGpuBackend } from '../../kernels/webgpu-backend';
import { buildTokenStream, loadLlama2c } from '../../runtime';
import { maxAbsDiff } from '../kernels/harness';
import { fetchShared } from './shared-files';

describe('stories260K with flash attention (webgpu)', () => {
  afterAll(() => preferAttentionKernel(undefined));

  it('a 512-token window matches the CPU and the row kernel within 1e-3', async () => {
    const [bin, tok, text] = await Promise.all([
      fetchShared('models/stories260K/stories260K.bin'),
      fetchShared('models/stories260K/tok512.bin'),
      fetchShared('data/tinystories-valid-1000.txt'),
    ]);
    const gpu = await createWebGpuBackend();
    const cpu = createCpuBackend();
    const g = await loadLlama2c(gpu, bin, 'stories260K.bin', tok, 'tok512.bin');
    const c = await loadLlama2c(cpu, bin, 'stories260K.bin', tok, 'tok512.bin');
    try {
      const tokens = buildTokenStream(c.tokenizer, new TextDecoder().decode(text)).tokens.slice(0, 512);
      const logits = async (which: 'flash' | 'rows' | 'cpu') => {
        preferAttentionKernel(which === 'cpu' ? undefined : which);
        const m = which === 'cpu' ? c : g;
        const out = await m.model.forward(tokens);
        const data = Float32Array.from(await m.model.backend.read(out));
        m.model.backend.dispose(out);
        return data;
      };
      const flash = await logits('flash');
      const rows = await logits('rows');
      const ref = await logits('cpu');
      const vsCpu = maxAbsDiff(flash, ref).diff;
      const vsRows = maxAbsDiff(flash, rows).diff;
      console.log(`stories260K 512 tokens, flash attention: max |Δlogit| vs cpu ${vsCpu}, vs rows ${vsRows}`);
      expect(vsCpu).toBeLessThan(1e-3);
      expect(vsRows).toBeLessThan(1e-3);
    } finally {
      g.model.dispose();
      c.model.dispose();
      expect(gpu.ctx.pool.liveBuffers).toBe(0);
      gpu.destroy();
    }
  });
});
