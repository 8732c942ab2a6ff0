/**
 * The bundled models (public/models/sparsebook-*) in Chromium: WebGPU logits match the logits
 * PyTorch wrote to each folder's reference.safetensors within 1e-3 (as the CPU runtime does in
 * test/runtime/hf-bundled-models.test.ts). A missing file fails the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend } from '../../kernels/webgpu-backend';
import { loadModelFiles } from '../../runtime';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { maxAbsDiff } from '../kernels/harness';

const MODELS = ['sparsebook-dense', 'sparsebook-moe-micro', 'sparsebook-moe-global'] as const;

/** A file under public/ as the dev server serves it (refusing its HTML fallback for a missing file). */
async function fetchPublic(relative: string): Promise<Uint8Array> {
  const res = await fetch(`/${relative}`);
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok || type.includes('text/html')) {
    throw new Error(`could not fetch public/${relative} from the test server: HTTP ${res.status} (${type})`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

describe('bundled models on webgpu match their PyTorch reference logits', () => {
  let gpu: WebGpuBackend;

  beforeAll(async () => {
    gpu = await createWebGpuBackend();
  });

  afterAll(() => {
    expect(gpu.ctx.pool.liveBuffers, 'GPU buffers leaked').toBe(0);
    gpu?.destroy();
  });

  for (const name of MODELS) {
    it(name, async () => {
      const files = await Promise.all(
        ['config.json', 'model.safetensors', 'tokenizer.bin'].map(async (f) => ({
          name: f,
          bytes: await fetchPublic(`models/${name}/${f}`),
        })),
      );
      const ref = parseSafetensors(
        await fetchPublic(`models/${name}/reference.safetensors`),
        'reference.safetensors',
      );
      const loaded = loadModelFiles(gpu, files, { source: name });
      const tokens = ref.int32('tokens');
      const expected = ref.float32('logits');
      const ours = await gpu.ctx.checked(async () => {
        const t = await loaded.model.forward(tokens);
        const out = await gpu.read(t);
        gpu.dispose(t);
        return out;
      });
      const { diff, at } = maxAbsDiff(ours, expected);
      console.log(
        `${name}: ${tokens.length} tokens, max |webgpu − torch| = ${diff.toExponential(3)} at ${at}`,
      );
      expect(diff).toBeLessThanOrEqual(1e-3);
      loaded.model.dispose();
    });
  }
});
