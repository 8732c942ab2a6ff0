/**
 * Mixture-of-Experts architectures: Mixtral (`block_sparse_moe.experts.{e}.w1/w2/w3`), OLMoE
 * (full-width qk-norm, norm_topk_prob), Qwen2-MoE (shared expert with a sigmoid gate, q/k/v biases),
 * Qwen3-MoE (per-head qk-norm) and GraniteMoE (fused input_linear/output_linear, multipliers).
 */
import type { LlamaConfig, MoeConfig } from '../llama-config';
import {
  activationOf,
  coreDims,
  moeOf,
  ropeScalingOf,
  slidingWindowOf,
  uniformLayers,
  type ArchitectureSpec,
} from './common';
import { blockSpec } from '../block-spec';
import type { ConfigReader } from './config-reader';
import { isRotaryBuffer } from './llama-family';
import { expertEntries, llamaStyleTensors, moeEntry, rows, sharedOf, type TensorEntry } from './tensor-table';

interface MoeArchOptions {
  name: string;
  modelTypes: string[];
  expertsKey: string;
  defaults: { experts: number; topK: number; normTopKProb: boolean };
  /** Key of each expert's inner width. */
  expertWidthKey: string;
  ropeThetaDefault: number;
  epsDefault: number;
  tiedDefault: boolean;
  qkvBias: boolean | 'config';
  qkNorm: 'none' | 'head' | 'full';
  sharedExpert?: boolean;
  slidingWindow?: boolean;
  /** Granite's multipliers. */
  granite?: boolean;
  /** The FFN's tensors of layer l with prefix p (`model.layers.{l}.`). */
  ffn: (c: LlamaConfig, l: number, p: string) => TensorEntry[];
}

function moeConfig(r: ConfigReader, o: MoeArchOptions): LlamaConfig {
  const core = coreDims(r, { hiddenDim: r.int(o.expertWidthKey), tiedDefault: o.tiedDefault });
  const ropeTheta = r.num('rope_theta', o.ropeThetaDefault);
  if (r.has('decoder_sparse_step') && r.int('decoder_sparse_step') !== 1) {
    r.fail('unsupported config: decoder_sparse_step ≠ 1 (only models whose every layer is sparse)');
  }
  const mlpOnly = r.raw.mlp_only_layers;
  if (Array.isArray(mlpOnly) && mlpOnly.length > 0) {
    r.fail(
      `unsupported config: mlp_only_layers ${JSON.stringify(mlpOnly)} (only models whose every layer is sparse)`,
    );
  }
  r.refuse('clip_qkv', 'q/k/v clipping is not implemented', (v) => v === null);
  r.refuse('use_sliding_window', 'only full attention is implemented for this architecture');
  const extra: Partial<MoeConfig> = o.sharedExpert
    ? { sharedExpert: { hiddenDim: r.int('shared_expert_intermediate_size') } }
    : {};
  const moe = moeOf(r, { experts: o.expertsKey, defaults: o.defaults }, extra);
  const qkv = o.qkvBias === 'config' ? r.bool('attention_bias', false) : o.qkvBias;
  const oBias = o.qkvBias === 'config' ? qkv : false;
  const window = o.slidingWindow ? slidingWindowOf(r, core.seqLen) : null;
  const granite = o.granite
    ? {
        embedScale: r.num('embedding_multiplier', 1),
        attnScale: r.num('attention_multiplier', 1 / Math.sqrt(core.headDim)),
        residualScale: r.num('residual_multiplier', 1),
        logitScale: 1 / r.num('logits_scaling', 1),
      }
    : {};
  return {
    ...core,
    normEps: r.num('rms_norm_eps', o.epsDefault),
    ropeTheta,
    moe,
    architecture: o.name,
    block: blockSpec(
      {
        activation: activationOf(r, ['hidden_act'], 'silu'),
        biases: { qkv, o: oBias, mlp: false },
        qkNorm: o.qkNorm,
        layers: uniformLayers(core.nLayers, ropeTheta, window, ropeScalingOf(r)),
        ...granite,
      },
      core.headDim,
    ),
  };
}

function moeArchitecture(o: MoeArchOptions): ArchitectureSpec {
  return {
    name: o.name,
    modelTypes: o.modelTypes,
    config: (r) => moeConfig(r, o),
    tensors: (c) =>
      llamaStyleTensors(c, {
        preAttentionNorm: 'input_layernorm',
        preFfnNorm: 'post_attention_layernorm',
        ffn: (l, p) => o.ffn(c, l, p),
      }),
    ignorable: isRotaryBuffer,
  };
}

const router = (c: LlamaConfig, l: number, name: string): TensorEntry =>
  moeEntry(name, [c.moe!.nExperts, c.dim], l, c.moe!.nExperts, (m, d) => (m.router = d));

const PROJ = { gate: 'gate_proj', up: 'up_proj', down: 'down_proj' };

/** `mlp.gate` + `mlp.experts.{e}.{gate,up,down}_proj` (OLMoE, Qwen-MoE). */
const mlpExperts = (c: LlamaConfig, l: number, p: string): TensorEntry[] => [
  router(c, l, `${p}mlp.gate.weight`),
  ...expertEntries(c, l, `${p}mlp.experts.`, PROJ),
];

export const MIXTRAL = moeArchitecture({
  name: 'MixtralForCausalLM',
  modelTypes: ['mixtral'],
  expertsKey: 'num_local_experts',
  // Mixtral always renormalises the chosen experts' weights.
  defaults: { experts: 8, topK: 2, normTopKProb: true },
  expertWidthKey: 'intermediate_size',
  ropeThetaDefault: 1e6,
  epsDefault: 1e-5,
  tiedDefault: false,
  qkvBias: false,
  qkNorm: 'none',
  slidingWindow: true,
  ffn: (c, l, p) => [
    router(c, l, `${p}block_sparse_moe.gate.weight`),
    ...expertEntries(c, l, `${p}block_sparse_moe.experts.`, { gate: 'w1', up: 'w3', down: 'w2' }),
  ],
});

export const OLMOE = moeArchitecture({
  name: 'OlmoeForCausalLM',
  modelTypes: ['olmoe'],
  expertsKey: 'num_experts',
  defaults: { experts: 64, topK: 8, normTopKProb: false },
  expertWidthKey: 'intermediate_size',
  ropeThetaDefault: 10000,
  epsDefault: 1e-5,
  tiedDefault: false,
  qkvBias: 'config',
  qkNorm: 'full',
  ffn: mlpExperts,
});

export const QWEN2_MOE = moeArchitecture({
  name: 'Qwen2MoeForCausalLM',
  modelTypes: ['qwen2_moe'],
  expertsKey: 'num_experts',
  defaults: { experts: 60, topK: 4, normTopKProb: false },
  expertWidthKey: 'moe_intermediate_size',
  ropeThetaDefault: 10000,
  epsDefault: 1e-6,
  tiedDefault: false,
  qkvBias: true,
  qkNorm: 'none',
  sharedExpert: true,
  ffn: (c, l, p) => {
    const { dim } = c;
    const E = c.moe!.nExperts;
    const h = c.moe!.sharedExpert!.hiddenDim;
    const s = `${p}mlp.shared_expert.`;
    return [
      ...mlpExperts(c, l, p),
      moeEntry(`${s}gate_proj.weight`, [h, dim], l, E, (m, d) => (sharedOf(m).expert.w1 = d)),
      moeEntry(`${s}up_proj.weight`, [h, dim], l, E, (m, d) => (sharedOf(m).expert.w3 = d)),
      moeEntry(`${s}down_proj.weight`, [dim, h], l, E, (m, d) => (sharedOf(m).expert.w2 = d)),
      moeEntry(`${p}mlp.shared_expert_gate.weight`, [1, dim], l, E, (m, d) => (sharedOf(m).gate = d)),
    ];
  },
});

export const QWEN3_MOE = moeArchitecture({
  name: 'Qwen3MoeForCausalLM',
  modelTypes: ['qwen3_moe'],
  expertsKey: 'num_experts',
  defaults: { experts: 128, topK: 8, normTopKProb: false },
  expertWidthKey: 'moe_intermediate_size',
  ropeThetaDefault: 10000,
  epsDefault: 1e-6,
  tiedDefault: false,
  qkvBias: 'config',
  qkNorm: 'head',
  ffn: mlpExperts,
});

export const GRANITE_MOE = moeArchitecture({
  name: 'GraniteMoeForCausalLM',
  modelTypes: ['granitemoe'],
  expertsKey: 'num_local_experts',
  // Granite takes the top-k router logits and a softmax over just those: renormalised top-k.
  defaults: { experts: 8, topK: 2, normTopKProb: true },
  expertWidthKey: 'intermediate_size',
  ropeThetaDefault: 10000,
  epsDefault: 1e-6,
  tiedDefault: true,
  qkvBias: 'config',
  qkNorm: 'none',
  granite: true,
  ffn: (c, l, p) => {
    const { dim, hiddenDim } = c;
    const E = c.moe!.nExperts;
    const x = `${p}block_sparse_moe.`;
    return [
      router(c, l, `${x}router.layer.weight`),
      // input_linear [E, 2·inter, dim]: per expert the gate rows, then the up rows (HF chunk(2)).
      moeEntry(`${x}input_linear.weight`, [E, 2 * hiddenDim, dim], l, E, (m, d) => {
        for (let e = 0; e < E; e++) {
          m.experts[e]!.w1 = rows(d, dim, 2 * e * hiddenDim, hiddenDim);
          m.experts[e]!.w3 = rows(d, dim, (2 * e + 1) * hiddenDim, hiddenDim);
        }
      }),
      moeEntry(`${x}output_linear.weight`, [E, dim, hiddenDim], l, E, (m, d) => {
        for (let e = 0; e < E; e++) m.experts[e]!.w2 = rows(d, hiddenDim, e * dim, dim);
      }),
    ];
  },
});
