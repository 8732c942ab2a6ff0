/**
 * A short soak (the full one is `npm run soak`, 20 rounds): in ONE page of the built app in
 * headless Chromium with WebGPU (SwiftShader; a missing adapter FAILS), three rounds of a new
 * default notebook (bundled dense model, text, model view) with an SAE trained for 100 steps and a
 * small pruning sweep, Run all, then a new notebook again (leaving a notebook must unload its
 * model: it did not, a leak this soak found, now fixed). After each round, with GC forced in page
 * and worker: live GPU buffers are back to the count before the first round, the worker keeps no
 * model, SAE or sweep, the GPU pool's bytes and the JS objects and ArrayBuffers of page and worker
 * are within 10 % of round 1's, and no pending promise reactions pile up (the runtime client's
 * per-job leak, also found here and fixed). The raw JS heaps are logged: they also hold V8's
 * compiled code, which grows for about ten rounds (see soak-rounds.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSoak, FULL_SOAK, runSoak, startSoakApp, type SoakApp, type SoakConfig } from './soak-rounds';

const SHORT: SoakConfig = {
  ...FULL_SOAK,
  rounds: 3,
  saeSteps: 100,
  saeBatch: 16,
  methods: ['magnitude'],
  patterns: ['unstructured'],
  sparsities: '0.5',
  roundTimeoutMs: 120_000,
};

let app: SoakApp;

beforeAll(async () => {
  app = await startSoakApp();
});

afterAll(async () => {
  await app?.close();
});

describe('soak', () => {
  it('three rounds of load, notebook, SAE and sweep in one page leak neither memory nor GPU buffers', async () => {
    const t0 = performance.now();
    const { samples, errors } = await runSoak(app, SHORT, (s) =>
      console.log(
        `[soak] round ${s.round}: ${s.ms} ms, page heap ${s.pageHeap} (objects ${s.pageObjects}), worker heap ` +
          `${s.workerHeap} (objects ${s.workerObjects}), GPU ${s.gpuLiveBuffers} live / ${s.gpuIdleBuffers} idle ` +
          `buffers, ${s.gpuBytes} bytes, reactions ${s.pageReactions}/${s.workerReactions}; ${JSON.stringify(s.steps)}`,
      ),
    );
    const { ratios, failures } = checkSoak(samples);
    console.log(
      `[soak] ratios to round 1: ${JSON.stringify(ratios)}; ${Math.round(performance.now() - t0)} ms`,
    );
    // Every round did load the model and run every cell (GPU work happened and was released).
    expect(samples.slice(1).every((s) => s.pipelines > 0 && s.gpuIdleBuffers > 0)).toBe(true);
    expect(failures).toEqual([]);
    expect(errors).toEqual([]);
  }, 180_000);
});
