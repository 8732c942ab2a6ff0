/**
 * MoE hook points and routing interventions on a synthetic Mixtral-style model (CPU backend),
 * each checked against the independent reference or a hand-derivable property.
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import type { Tensor } from '../../kernels/tensor';
import { HookError, listHookPoints, readIndices, type Hook, type Hooks } from '../../runtime/hooks';
import { LlamaModel, type ForwardOptions } from '../../runtime/model/llama';
import { MoeInterventionError } from '../../runtime/model/moe-interventions';
import { maxAbsDiff, referenceFor, referenceLogits } from './moe-reference';
import { randomWeights, tinyConfig, tinyMoeConfig } from './synthetic';

const backend = createCpuBackend();
const config = tinyMoeConfig({ nLayers: 2, dim: 16, hiddenDim: 24, nHeads: 4, nKvHeads: 2, seqLen: 16 });
const E = 4;
const weights = randomWeights(config, 5);
const model = LlamaModel.load(backend, { config, weights });
const ref = referenceFor(config, weights);
const tokens = Int32Array.of(1, 5, 9, 2, 15, 0, 7, 7, 3, 11, 4, 6, 13, 8);
const T = tokens.length;

async function logitsWith(options: ForwardOptions = {}): Promise<Float32Array> {
  const t = await model.forward(tokens, options);
  const data = await backend.read(t);
  backend.dispose(t);
  return data;
}

/** Chosen experts [T, k] and router probabilities [T, E] of every layer under `options`. */
async function routing(options: ForwardOptions = {}) {
  const experts: Int32Array[] = [];
  const probs: Float32Array[] = [];
  const gates: Float32Array[] = [];
  const hooks: Record<string, Hook | ReturnType<typeof readIndices>> = { ...options.hooks };
  for (let l = 0; l < config.nLayers; l++) {
    hooks[`blocks.${l}.moe.hook_selected_experts`] = readIndices(async (t, ctx) => {
      experts[l] = await ctx.backend.read(t);
    });
    hooks[`blocks.${l}.moe.hook_router_probs`] = async (t, ctx) =>
      void (probs[l] = await ctx.backend.read(t));
    hooks[`blocks.${l}.moe.hook_gate_weights`] ??= async (t, ctx) =>
      void (gates[l] = await ctx.backend.read(t));
  }
  const logits = await logitsWith({ ...options, hooks });
  return { experts, probs, gates, logits };
}

const entropy = (p: Float32Array) => {
  let h = 0;
  for (const v of p) if (v > 0) h -= v * Math.log(v);
  return h / (p.length / E);
};

describe('MoE hook points', () => {
  it('every hook fires once, in order, with its shape (selected experts as i32)', async () => {
    const seen: [string, readonly number[], string][] = [];
    const hooks: Record<string, Hook | ReturnType<typeof readIndices>> = {};
    for (const name of listHookPoints(config)) {
      hooks[name] = name.endsWith('hook_selected_experts')
        ? readIndices((t, ctx) => void seen.push([ctx.name, t.shape, t.dtype]))
        : (t, ctx) => void seen.push([ctx.name, t.shape, t.dtype]);
    }
    await logitsWith({ hooks });
    expect(seen.map((s) => s[0])).toEqual(listHookPoints(config));
    const at = (n: string) => seen.find((s) => s[0] === n)!;
    expect(at('blocks.1.moe.hook_router_logits')).toEqual(['blocks.1.moe.hook_router_logits', [T, E], 'f32']);
    expect(at('blocks.1.moe.hook_router_probs')[1]).toEqual([T, E]);
    expect(at('blocks.0.moe.hook_selected_experts')).toEqual([
      'blocks.0.moe.hook_selected_experts',
      [T, 2],
      'i32',
    ]);
    expect(at('blocks.0.moe.hook_gate_weights')[1]).toEqual([T, 2]);
    expect(at('blocks.0.hook_mlp_out')[1]).toEqual([T, 16]);
  });

  it('routing seen through hooks equals the reference, token by token', async () => {
    const r = await routing();
    const want: number[][] = [[], []];
    referenceLogits(ref, tokens, { onRoute: (l, e) => want[l]!.push(...e) });
    expect(r.experts.map((e) => Array.from(e))).toEqual(want);
    for (let t = 0; t < T; t++) {
      const g = r.gates[0]!.subarray(t * 2, t * 2 + 2);
      expect(g[0]! + g[1]!).toBeCloseTo(1, 6); // renormalised
      expect(g[0]!).toBeGreaterThanOrEqual(g[1]!);
    }
  });

  it('a replaced router logits tensor is what gets routed', async () => {
    const favour3: Hook = (t, ctx) => {
      const z = new Float32Array(t.size);
      for (let i = 0; i < T; i++) z.set([0, 1, 0, 5], i * E);
      return ctx.backend.tensor(z, t.shape);
    };
    const r = await routing({ hooks: { 'blocks.0.moe.hook_router_logits': favour3 } });
    for (let t = 0; t < T; t++) expect(Array.from(r.experts[0]!.subarray(2 * t, 2 * t + 2))).toEqual([3, 1]);
    const copy: Hook = async (t, ctx) => ctx.backend.tensor(await ctx.backend.read(t), t.shape);
    expect(
      maxAbsDiff(
        await logitsWith(),
        await logitsWith({ hooks: { 'blocks.1.moe.hook_router_logits': copy } }),
      ),
    ).toBe(0);
  });

  it('zeroed gate weights silence the MoE block: hook_mlp_out is 0', async () => {
    let out: Float32Array | undefined;
    await logitsWith({
      hooks: {
        'blocks.1.moe.hook_gate_weights': (t, ctx) => ctx.backend.zeros(t.shape) as Tensor<'f32'>,
        'blocks.1.hook_mlp_out': async (t, ctx) => void (out = await ctx.backend.read(t)),
      },
    });
    expect(Array.from(out!).every((v) => v === 0)).toBe(true);
  });

  it('rejects hooks of the wrong kind or at points this model lacks', async () => {
    const zero: Hook = (t, ctx) => ctx.backend.zeros(t.shape) as Tensor<'f32'>;
    await expect(logitsWith({ hooks: { 'blocks.0.mlp.hook_post': zero } })).rejects.toThrow(
      /"blocks.0.mlp.hook_post" exists only in dense models; this MoE model's FFN hook points are moe.hook_router_logits/,
    );
    await expect(logitsWith({ hooks: { 'blocks.0.moe.hook_selected_experts': () => {} } })).rejects.toThrow(
      /receives i32 expert ids and is read-only: register it as readIndices/,
    );
    await expect(
      logitsWith({ hooks: { 'blocks.0.moe.hook_gate_weights': readIndices(() => {}) } }),
    ).rejects.toThrow(/is a readIndices hook, but this point carries f32 activations/);
    await expect(logitsWith({ hooks: { 'blocks.0.moe.hook_router_probs': zero } })).rejects.toThrow(
      /moe.hook_router_probs is read-only; replace moe.hook_router_logits or moe.hook_gate_weights instead/,
    );
    const dense = LlamaModel.load(backend, { config: tinyConfig(), weights: randomWeights(tinyConfig()) });
    const hooks: Hooks = { 'blocks.0.moe.hook_router_logits': () => {} };
    await expect(dense.forward([1, 2], { hooks })).rejects.toThrow(HookError);
    await expect(dense.forward([1, 2], { hooks })).rejects.toThrow(/exists only in MoE models/);
    await expect(dense.forward([1, 2], { moe: { forceTopK: 1 } })).rejects.toThrow(/this is a dense model/);
  });
});

describe('MoE routing interventions', () => {
  it('a disabled expert receives no tokens, the logits change and match the reference', async () => {
    const clean = await routing();
    expect(clean.experts.some((e) => e.includes(1))).toBe(true);
    const r = await routing({ moe: { disabledExperts: [1] } });
    for (const e of r.experts) expect(e.includes(1)).toBe(false);
    for (const p of r.probs) for (let t = 0; t < T; t++) expect(p[t * E + 1]).toBe(0);
    expect(maxAbsDiff(r.logits, clean.logits)).toBeGreaterThan(1e-3);
    expect(
      maxAbsDiff(r.logits, referenceLogits(ref, tokens, { routing: () => ({ disabled: [1] }) })),
    ).toBeLessThan(1e-4);
  });

  it('forceTopK = nExperts with renormalisation is the dense mixture of all experts', async () => {
    const r = await routing({ moe: { forceTopK: E } });
    expect(r.experts[0]!.length).toBe(T * E);
    const dense = referenceLogits(ref, tokens, { routing: () => ({ denseMixture: true }) });
    expect(maxAbsDiff(r.logits, dense)).toBeLessThan(1e-4);
    expect(maxAbsDiff(r.logits, await logitsWith())).toBeGreaterThan(1e-3);
  });

  it('router temperature raises routing entropy and matches the reference', async () => {
    const h: number[] = [];
    for (const routerTemperature of [0.25, 1, 4]) {
      const r = await routing({ moe: { routerTemperature } });
      h.push(entropy(r.probs[0]!));
      const want = referenceLogits(ref, tokens, { routing: () => ({ temperature: routerTemperature }) });
      expect(maxAbsDiff(r.logits, want)).toBeLessThan(1e-4);
    }
    expect(h[0]!).toBeLessThan(h[1]!);
    expect(h[1]!).toBeLessThan(h[2]!);
    expect(h[2]!).toBeLessThan(Math.log(E));
  });

  it('expert bias shifts the load but not the gate weights (aux-loss-free balancing)', async () => {
    const expertBias = [0, 0, 2, 0];
    const r = await routing({ moe: { expertBias, normTopKProb: false } });
    for (const e of r.experts) for (let t = 0; t < T; t++) expect(e[2 * t]).toBe(2);
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < 2; j++) {
        const e = r.experts[1]![2 * t + j]!;
        expect(r.gates[1]![2 * t + j]).toBeCloseTo(r.probs[1]![t * E + e]!, 6);
      }
    }
    const want = referenceLogits(ref, tokens, { routing: () => ({ bias: expertBias, normTopKProb: false }) });
    expect(maxAbsDiff(r.logits, want)).toBeLessThan(1e-4);
  });

  it('per-layer settings override the global ones field by field', async () => {
    const moe = { forceTopK: 3, disabledExperts: [0], layers: { 1: { forceTopK: 1 } } };
    const r = await routing({ moe });
    expect(r.experts[0]!.length).toBe(T * 3);
    expect(r.experts[1]!.length).toBe(T);
    for (const e of r.experts) expect(e.includes(0)).toBe(false);
    const want = referenceLogits(ref, tokens, {
      routing: (l) => ({ disabled: [0], topK: l === 1 ? 1 : 3 }),
    });
    expect(maxAbsDiff(r.logits, want)).toBeLessThan(1e-4);
  });

  it('rejects invalid interventions with clear messages', async () => {
    const bad = (moe: unknown) => logitsWith({ moe: moe as ForwardOptions['moe'] });
    await expect(bad({ disabledExperts: [4] })).rejects.toThrow(MoeInterventionError);
    await expect(bad({ disabledExperts: [4] })).rejects.toThrow(
      /moe.disabledExperts: unknown expert 4 \(experts are 0..3\)/,
    );
    await expect(bad({ forceTopK: 5 })).rejects.toThrow(/moe.forceTopK = 5 must be an integer in \[1, 4\]/);
    await expect(bad({ layers: { 1: { forceTopK: 0 } } })).rejects.toThrow(/moe.layers\[1\].forceTopK = 0/);
    await expect(bad({ disabledExperts: [0, 1, 2] })).rejects.toThrow(
      /layer 0: top-2 routing needs 2 experts, but 3 of 4 are disabled/,
    );
    await expect(bad({ routerTemperature: 0 })).rejects.toThrow(
      /moe.routerTemperature = 0 must be a finite number > 0/,
    );
    await expect(bad({ routerTemperature: -2 })).rejects.toThrow(/routerTemperature = -2/);
    await expect(bad({ expertBias: [1, 2, 3] })).rejects.toThrow(
      /moe.expertBias has 3 entries; the model has 4 experts/,
    );
    await expect(bad({ expertBias: [0, Infinity, 0, 0] })).rejects.toThrow(
      /expertBias\[1\] = Infinity is not finite/,
    );
    await expect(bad({ disabled: [1] })).rejects.toThrow(/moe: unknown field "disabled"/);
    await expect(bad({ layers: { 2: {} } })).rejects.toThrow(
      /moe.layers: "2" is not a layer index \(the model has 2 layers\)/,
    );
  });
});
