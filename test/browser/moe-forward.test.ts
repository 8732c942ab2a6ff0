/**
 * A synthetic Mixtral-style MoE model on both backends inside Chromium: the WebGPU expert dispatch
 * (route → per-expert gather → expert FFN → combine) gives the same logits and the same routing as
 * the CPU reference, with and without interventions, and leaks no GPU buffers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { createWebGpuBackend, type WebGpuBackend } from '../../kernels/webgpu-backend';
import { readIndices } from '../../runtime/hooks';
import { LlamaModel, type ForwardOptions } from '../../runtime/model/llama';
import { maxAbsDiff, randInt } from '../kernels/harness';
import { randomWeights, tinyMoeConfig } from '../runtime/synthetic';

const config = tinyMoeConfig(
  { dim: 32, hiddenDim: 48, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 64, seqLen: 32 },
  { nExperts: 8, topK: 2, normTopKProb: true },
);
const tokens = randInt(3, 32, 64);

describe('synthetic MoE model in Chromium, webgpu vs cpu', () => {
  let cpuBackend: Backend;
  let gpuBackend: WebGpuBackend;
  let cpu: LlamaModel;
  let gpu: LlamaModel;

  beforeAll(async () => {
    const weights = randomWeights(config, 9);
    cpuBackend = createCpuBackend();
    gpuBackend = await createWebGpuBackend();
    cpu = LlamaModel.load(cpuBackend, { config, weights });
    gpu = LlamaModel.load(gpuBackend, { config, weights });
  });

  afterAll(() => {
    cpu?.dispose();
    gpu?.dispose();
    expect(gpuBackend.ctx.pool.liveBuffers, 'GPU buffers leaked by the MoE forward pass').toBe(0);
    gpuBackend?.destroy();
  });

  /** Logits and layer-0/1 chosen experts of one model. */
  async function run(m: LlamaModel, options: ForwardOptions = {}) {
    const experts: number[][] = [];
    const hooks = Object.fromEntries(
      [0, 1].map((l) => [
        `blocks.${l}.moe.hook_selected_experts`,
        readIndices(async (t, ctx) => void (experts[l] = Array.from(await ctx.backend.read(t)))),
      ]),
    );
    const logits = await m.forward(tokens, { ...options, hooks });
    const data = await m.backend.read(logits);
    m.backend.dispose(logits);
    return { logits: data, experts };
  }

  const cases: [string, ForwardOptions['moe']][] = [
    ['the configured top-2 routing', undefined],
    ['expert 3 disabled, top-3, temperature 2', { disabledExperts: [3], forceTopK: 3, routerTemperature: 2 }],
    ['every expert (forceTopK = 8)', { forceTopK: 8 }],
    [
      'layer 1 biased toward expert 7, not renormalised',
      { layers: { 1: { expertBias: [0, 0, 0, 0, 0, 0, 0, 0.3], normTopKProb: false } } },
    ],
  ];
  for (const [name, moe] of cases) {
    it(`logits agree within 1e-3 and routing is identical: ${name}`, async () => {
      const a = await run(cpu, { moe });
      const b = await gpuBackend.ctx.checked(() => run(gpu, { moe }));
      expect(b.experts).toEqual(a.experts);
      const { diff, at } = maxAbsDiff(b.logits, a.logits);
      console.log(`MoE logits (${name}): max |webgpu − cpu| = ${diff.toExponential(3)} at ${at}`);
      expect(diff).toBeLessThanOrEqual(1e-3);
    });
  }

  it('incremental decoding on webgpu (T = 1 per step) matches the cpu full pass', async () => {
    const full = await run(cpu);
    const cache = gpu.createKvCache();
    const steps: number[] = [];
    await gpuBackend.ctx.checked(async () => {
      for (const t of tokens.subarray(0, 6)) {
        const l = await gpu.forward([t], { kvCache: cache });
        steps.push(...(await gpuBackend.read(l)));
        gpuBackend.dispose(l);
      }
    });
    cache.dispose();
    expect(maxAbsDiff(steps, full.logits.subarray(0, 6 * 64)).diff).toBeLessThanOrEqual(1e-3);
  });
});
