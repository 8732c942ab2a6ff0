/**
 * Dense Llama-style architectures (`model.layers.{l}.self_attn.q_proj`, …): Llama 2/3 (with
 * `rope_scaling` llama3), SmolLM2, TinyLlama, Mistral (sliding window), Qwen 2/2.5 (q/k/v biases),
 * Qwen 3 (per-head qk-norm, explicit head_dim), OLMo 2 (post-norm, full-width qk-norm).
 */
import type { LlamaConfig } from '../llama-config';
import {
  activationOf,
  coreDims,
  ropeScalingOf,
  slidingWindowOf,
  uniformLayers,
  type ArchitectureSpec,
} from './common';
import { blockSpec } from '../block-spec';
import type { ConfigReader } from './config-reader';
import { llamaStyleTensors, type LlamaStyleNames } from './tensor-table';

const LLAMA_NORMS: LlamaStyleNames = {
  preAttentionNorm: 'input_layernorm',
  preFfnNorm: 'post_attention_layernorm',
  ffn: 'mlp',
};

/** A rotary buffer some exports still carry. */
export const isRotaryBuffer = (n: string): boolean => n.endsWith('.rotary_emb.inv_freq');

interface DenseOptions {
  architecture: string;
  ropeThetaDefault: number;
  epsDefault: number;
  tiedDefault: boolean;
  /** Biases: read from attention_bias/mlp_bias (Llama), or fixed by the architecture. */
  biases: 'config' | { qkv: boolean; o: boolean; mlp: boolean };
  qkNorm: 'none' | 'head' | 'full';
  normPlacement: 'pre' | 'post';
  /** Whether `sliding_window` applies (Mistral), is gated by `use_sliding_window` (Qwen), or is refused. */
  window: 'always' | 'use_sliding_window' | 'refuse';
}

/** Read a dense Llama-style config under `o`'s rules. */
function denseConfig(r: ConfigReader, o: DenseOptions): LlamaConfig {
  const core = coreDims(r, { tiedDefault: o.tiedDefault });
  const ropeTheta = r.num('rope_theta', o.ropeThetaDefault);
  const ropeScaling = ropeScalingOf(r);
  let window: number | null = null;
  if (o.window === 'always') window = slidingWindowOf(r, core.seqLen);
  else if (o.window === 'use_sliding_window') {
    // Qwen's sliding window applies only to layers past max_window_layers: refuse rather than guess.
    r.refuse('use_sliding_window', 'only full attention is implemented for this architecture');
  } else if (slidingWindowOf(r, core.seqLen) !== null) {
    r.fail(`unsupported config: sliding_window ${String(r.raw.sliding_window)} for ${o.architecture}`);
  }
  r.refuse('pretraining_tp', 'tensor-parallel slicing is not implemented', (v) => v === 1);
  const biases =
    o.biases === 'config'
      ? {
          qkv: r.bool('attention_bias', false),
          o: r.bool('attention_bias', false),
          mlp: r.bool('mlp_bias', false),
        }
      : o.biases;
  return {
    ...core,
    normEps: r.num('rms_norm_eps', o.epsDefault),
    ropeTheta,
    moe: null,
    architecture: o.architecture,
    block: blockSpec(
      {
        activation: activationOf(r, ['hidden_act'], 'silu'),
        biases,
        qkNorm: o.qkNorm,
        normPlacement: o.normPlacement,
        layers: uniformLayers(core.nLayers, ropeTheta, window, ropeScaling),
      },
      core.headDim,
    ),
  };
}

function denseArchitecture(
  name: string,
  modelTypes: string[],
  o: Omit<DenseOptions, 'architecture'>,
  names: LlamaStyleNames = LLAMA_NORMS,
): ArchitectureSpec {
  return {
    name,
    modelTypes,
    config: (r) => denseConfig(r, { ...o, architecture: name }),
    tensors: (c) => llamaStyleTensors(c, names),
    ignorable: isRotaryBuffer,
  };
}

export const LLAMA = denseArchitecture('LlamaForCausalLM', ['llama'], {
  ropeThetaDefault: 10000,
  epsDefault: 1e-6,
  tiedDefault: false,
  biases: 'config',
  qkNorm: 'none',
  normPlacement: 'pre',
  window: 'refuse',
});

export const MISTRAL = denseArchitecture('MistralForCausalLM', ['mistral'], {
  ropeThetaDefault: 10000,
  epsDefault: 1e-6,
  tiedDefault: false,
  biases: { qkv: false, o: false, mlp: false },
  qkNorm: 'none',
  normPlacement: 'pre',
  window: 'always',
});

export const QWEN2 = denseArchitecture('Qwen2ForCausalLM', ['qwen2'], {
  ropeThetaDefault: 10000,
  epsDefault: 1e-6,
  tiedDefault: false,
  biases: { qkv: true, o: false, mlp: false },
  qkNorm: 'none',
  normPlacement: 'pre',
  window: 'use_sliding_window',
});

export const QWEN3 = denseArchitecture('Qwen3ForCausalLM', ['qwen3'], {
  ropeThetaDefault: 10000,
  epsDefault: 1e-6,
  tiedDefault: true,
  biases: 'config',
  qkNorm: 'head',
  normPlacement: 'pre',
  window: 'use_sliding_window',
});

export const OLMO2 = denseArchitecture(
  'Olmo2ForCausalLM',
  ['olmo2'],
  {
    ropeThetaDefault: 10000,
    epsDefault: 1e-5,
    tiedDefault: false,
    biases: 'config',
    qkNorm: 'full',
    normPlacement: 'post',
    window: 'refuse',
  },
  { postAttentionNorm: 'post_attention_layernorm', postFfnNorm: 'post_feedforward_layernorm', ffn: 'mlp' },
);
