/**
 * The Mixtral-style MoE forward pass on the CPU backend against the independent scalar reference,
 * plus the config helpers (parameter count, weight names, allocation) and resource hygiene.
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import { listHookPoints } from '../../runtime/hooks';
import { modelInfo } from '../../runtime/index';
import { LlamaModel } from '../../runtime/model/llama';
import {
  allocateLlamaWeights,
  countParameters,
  listWeights,
  type LlamaConfig,
} from '../../runtime/model/llama-config';
import { planExpertDispatch } from '../../runtime/model/moe-block';
import { maxAbsDiff, referenceFor, referenceLogits } from './moe-reference';
import { randomWeights, tinyConfig, tinyMoeConfig } from './synthetic';
import { trackingBackend } from './tracking-backend';

const backend = createCpuBackend();

const TOKENS = Int32Array.of(1, 5, 9, 2, 15, 0, 7, 7, 3, 11, 4, 6);

describe('MoE forward against an independent scalar Mixtral forward', () => {
  const cases: [string, LlamaConfig][] = [
    [
      '4 experts, top-2, renormalised',
      tinyMoeConfig({ nLayers: 2, dim: 16, hiddenDim: 24, nHeads: 4, nKvHeads: 2, seqLen: 12 }),
    ],
    [
      '8 experts, top-2, not renormalised, separate classifier',
      tinyMoeConfig(
        { nLayers: 2, dim: 16, hiddenDim: 20, nHeads: 4, nKvHeads: 2, seqLen: 12, sharedClassifier: false },
        { nExperts: 8, normTopKProb: false },
      ),
    ],
    ['3 experts, top-1', tinyMoeConfig({ nLayers: 3, seqLen: 12 }, { nExperts: 3, topK: 1 })],
    ['4 experts, top-4 (every expert)', tinyMoeConfig({ seqLen: 12 }, { topK: 4 })],
  ];
  for (const [name, config] of cases) {
    it(`logits agree within 1e-4: ${name}`, async () => {
      const weights = randomWeights(config, 7);
      const m = LlamaModel.load(backend, { config, weights });
      const logits = await m.forward(TOKENS);
      expect(logits.shape).toEqual([TOKENS.length, config.vocabSize]);
      const ours = await backend.read(logits);
      expect(maxAbsDiff(ours, referenceLogits(referenceFor(config, weights), TOKENS))).toBeLessThan(1e-4);
    });
  }

  it('incremental decoding with a KV cache (T = 1 per step) equals the full pass', async () => {
    const config = tinyMoeConfig({ nLayers: 2, dim: 16, nHeads: 4, nKvHeads: 2, seqLen: 12 });
    const m = LlamaModel.load(backend, { config, weights: randomWeights(config, 11) });
    const full = await backend.read(await m.forward(TOKENS));
    const cache = m.createKvCache();
    const steps: number[] = [];
    for (const t of TOKENS) steps.push(...(await backend.read(await m.forward([t], { kvCache: cache }))));
    expect(maxAbsDiff(steps, full)).toBeLessThan(1e-5);
  });
});

describe('expert dispatch plan', () => {
  it('groups (token, choice) pairs by expert in token order and maps each back to its row', () => {
    const plan = planExpertDispatch(Int32Array.of(1, 0, 1, 2, 3, 1), 2, 5);
    expect(Array.from(plan.offsets)).toEqual([0, 1, 4, 5, 6, 6]); // expert 4: no tokens
    expect(Array.from(plan.order)).toEqual([0, 0, 1, 2, 1, 2]);
    expect(Array.from(plan.slots)).toEqual([1, 0, 2, 4, 5, 3]);
    expect(() => planExpertDispatch(Int32Array.of(5), 1, 5)).toThrow(/expert id 5 outside \[0, 5\)/);
  });
});

describe('MoE config helpers', () => {
  const config = tinyMoeConfig({ nLayers: 2, dim: 8, hiddenDim: 12 }, { nExperts: 3 });

  it('counts the router and every expert', () => {
    const dense = countParameters(tinyConfig({ nLayers: 2, dim: 8, hiddenDim: 12 }));
    const perLayerFfn = 3 * 12 * 8;
    expect(countParameters(config)).toBe(dense + 2 * (3 * perLayerFfn + 3 * 8 - perLayerFfn));
    const w = allocateLlamaWeights(config);
    const total = listWeights(config, w).reduce((n, x) => n + x.data.length, 0);
    expect(total).toBe(countParameters(config));
  });

  it('allocates and names router and experts; the dense FFN is empty', () => {
    const w = allocateLlamaWeights(config);
    expect(w.layers[0]!.w1.length).toBe(0);
    expect(w.layers[0]!.moe!.router.length).toBe(3 * 8);
    expect(w.layers[1]!.moe!.experts.map((x) => x.w2.length)).toEqual([96, 96, 96]);
    const names = listWeights(config, w).map((x) => x.name);
    expect(names).toContain('layers.1.feed_forward.gate.weight');
    expect(names).toContain('layers.0.feed_forward.experts.2.w3.weight');
    expect(names.some((n) => /^layers\.\d+\.feed_forward\.w1\.weight$/.test(n))).toBe(false);
    for (const x of listWeights(config, w)) expect(x.data.length).toBe(x.shape.reduce((a, b) => a * b, 1));
  });

  it('model info says mixtral with its experts; llama2.c cannot hold it', () => {
    expect(modelInfo(config)).toMatchObject({ architecture: 'mixtral', nExperts: 3, topK: 2 });
    expect(() => writeLlama2c(config, allocateLlamaWeights(config))).toThrow(
      /writeLlama2c: llama2.c files hold dense models only; this config is a mixture of 3 experts/,
    );
  });

  it('MoE models list moe hooks instead of mlp.hook_pre / mlp.hook_post', () => {
    const names = listHookPoints(config);
    expect(names.length).toBe(1 + 2 * 20 + 2);
    expect(names.slice(13, 21)).toEqual([
      'blocks.0.hook_resid_mid',
      'blocks.0.ln2.hook_normalized',
      'blocks.0.moe.hook_router_logits',
      'blocks.0.moe.hook_router_probs',
      'blocks.0.moe.hook_selected_experts',
      'blocks.0.moe.hook_gate_weights',
      'blocks.0.hook_mlp_out',
      'blocks.0.hook_resid_post',
    ]);
    expect(names.some((n) => n.includes('mlp.hook_p'))).toBe(false);
    expect(listHookPoints(tinyConfig()).some((n) => n.includes('moe.'))).toBe(false);
  });

  it('load rejects MoE weights that do not fit the config, before uploading anything', () => {
    const tb = trackingBackend(createCpuBackend());
    const w = allocateLlamaWeights(config);
    w.layers[1]!.moe!.experts.pop();
    expect(() => LlamaModel.load(tb, { config, weights: w })).toThrow(
      /layer 1: 2 experts, the config says 3/,
    );
    const w2 = allocateLlamaWeights(config);
    w2.layers[0]!.moe!.experts[1]!.w2 = new Float32Array(5);
    expect(() => LlamaModel.load(tb, { config, weights: w2 })).toThrow(
      /layer 0: expert 1 w2 has 5 elements, expected 96/,
    );
    const w3 = allocateLlamaWeights(config);
    delete w3.layers[0]!.moe;
    expect(() => LlamaModel.load(tb, { config, weights: w3 })).toThrow(
      /layer 0: the config is a mixture of experts/,
    );
    const dense = tinyConfig({ nLayers: 2, dim: 8, hiddenDim: 12 });
    expect(() => LlamaModel.load(tb, { config: dense, weights: allocateLlamaWeights(config) })).toThrow(
      /layer 0 has MoE weights, but the config describes a dense model/,
    );
    expect(tb.live.size).toBe(0);
  });
});

describe('MoE resource hygiene', () => {
  it('uploads router + experts (not the empty dense FFN) and frees every intermediate', async () => {
    const config = tinyMoeConfig({ nLayers: 2, seqLen: 12 }, { nExperts: 3 });
    const tb = trackingBackend(createCpuBackend());
    const m = LlamaModel.load(tb, { config, weights: randomWeights(config, 2) });
    const weights = tb.live.size;
    expect(weights).toBe(1 + 2 * (6 + 1 + 3 * 3) + 1); // shared classifier uploaded once
    tb.dispose(await m.forward(TOKENS, { moe: { disabledExperts: [0], forceTopK: 2 } }));
    expect(tb.live.size).toBe(weights);
    await expect(
      m.forward(TOKENS, {
        hooks: {
          'blocks.1.moe.hook_gate_weights': () => {
            throw new Error('boom');
          },
        },
      }),
    ).rejects.toThrow('boom');
    expect(tb.live.size).toBe(weights);
    m.dispose();
    expect(tb.live.size).toBe(0);
    expect(tb.badDisposals).toBe(0);
  });
});
