/**
 * Every architecture fixture on the WebGPU backend in Chromium: logits within 1e-3 of the
 * independent reference (the CPU backend's bound is 1e-4, test/runtime/arch-fidelity.test.ts), and
 * no GPU buffer left behind.
 */
import { describe, expect, it } from 'vitest';
import { ARCH_FIXTURES, fixtureLogits, loadFixtureModel, readArchFixture } from '../helpers/arch-fixtures';
import { maxAbsDiff, webGpuSuite } from '../kernels/harness';

/** Max |Δlogit| allowed on WebGPU (the bound). */
const GPU_TOLERANCE = 1e-3;

/** Fixture files are served by the Vite server that hosts the browser tests, from the repo root. */
async function read(relative: string): Promise<Uint8Array> {
  const res = await fetch(`/${relative}`);
  if (!res.ok) throw new Error(`could not fetch ${relative} from the test server: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

describe('architecture fixtures on WebGPU', () => {
  const webgpu = webGpuSuite();

  it.each(ARCH_FIXTURES)('%s: logits within 1e-3 of the reference', async (name) => {
    const f = await readArchFixture(name, read);
    const gpu = webgpu();
    const model = loadFixtureModel(f, gpu);
    try {
      const logits = await gpu.ctx.checked(() => fixtureLogits(model, f.tokens));
      const { diff } = maxAbsDiff(logits, f.logits);
      console.log(`${name} [webgpu]: max |Δlogit| ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(GPU_TOLERANCE);
    } finally {
      model.dispose();
    }
  });
});
