/**
 * Config fields most architectures share (sizes, heads, rotary scaling, activation), read once.
 */
import type { ActivationKind, RopeScaling } from '../../../kernels/backend';
import type { LayerAttentionSpec } from '../block-spec';
import type { LlamaConfig, MoeConfig } from '../llama-config';
import type { ConfigReader } from './config-reader';
import type { TensorEntry } from './tensor-table';

/** One architecture: how to read its config.json and which tensors play which role. */
export interface ArchitectureSpec {
  /** The HF `architectures` entry, e.g. `GPT2LMHeadModel`. */
  readonly name: string;
  /** HF `model_type` values of this architecture. */
  readonly modelTypes: readonly string[];
  /** The runtime config, every option checked (unsupported ones refused, naming the option). */
  config(r: ConfigReader): LlamaConfig;
  /** Every tensor the config requires, with its stored shape and role. */
  tensors(c: LlamaConfig): TensorEntry[];
  /** Stored tensors the model does not use (causal-mask and rotary buffers), not an error. */
  ignorable?(name: string): boolean;
  /** A name prefix some checkpoints add (GPT-2's `transformer.`), stripped before lookup. */
  readonly optionalPrefix?: string;
}

/** HF activation names → kernels. Anything else is refused naming the option. */
const ACTIVATIONS: Readonly<Record<string, ActivationKind>> = {
  silu: 'silu',
  swish: 'silu',
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  relu: 'relu',
};

export function activationOf(r: ConfigReader, keys: readonly string[], fallback: string): ActivationKind {
  const key = keys.find((k) => r.has(k)) ?? keys[0]!;
  const name = r.oneOf(key, Object.keys(ACTIVATIONS), fallback);
  return ACTIVATIONS[name]!;
}

/** HF `rope_scaling`: null/default → none, llama3 and linear supported, anything else refused. */
export function ropeScalingOf(r: ConfigReader): RopeScaling | undefined {
  if (!r.has('rope_scaling')) return undefined;
  const s = r.raw.rope_scaling;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) {
    return r.fail(`invalid config: rope_scaling must be an object or null, found ${JSON.stringify(s)}`);
  }
  const o = s as Record<string, unknown>;
  const type = o.rope_type ?? o.type;
  if (type === 'default') return undefined;
  if (type === 'llama3') {
    const scaling: RopeScaling = {
      type: 'llama3',
      factor: r.num('factor', undefined, o),
      lowFreqFactor: r.num('low_freq_factor', undefined, o),
      highFreqFactor: r.num('high_freq_factor', undefined, o),
      originalMaxPositions: r.num('original_max_position_embeddings', undefined, o),
    };
    if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
      r.fail('invalid config: rope_scaling high_freq_factor must exceed low_freq_factor');
    }
    return scaling;
  }
  if (type === 'linear') return { type: 'linear', factor: r.num('factor', undefined, o) };
  const found = type === undefined ? 'has no rope_type' : `type ${JSON.stringify(type)}`;
  return r.fail(`unsupported config: rope_scaling ${found} (supported: "llama3", "linear", "default")`);
}

/** Field names of the core sizes (GPT-2 spells them differently). */
export interface CoreKeys {
  dim: string;
  layers: string;
  heads: string;
  positions: string;
  hidden: string | null;
}

const HF_KEYS: CoreKeys = {
  dim: 'hidden_size',
  layers: 'num_hidden_layers',
  heads: 'num_attention_heads',
  positions: 'max_position_embeddings',
  hidden: 'intermediate_size',
};

/** Sizes and head layout, validated together; `hidden` overrides the FFN width key or value. */
export function coreDims(
  r: ConfigReader,
  opts: { keys?: CoreKeys; hiddenDim?: number; explicitHeadDim?: boolean; tiedDefault: boolean },
): Omit<LlamaConfig, 'normEps' | 'ropeTheta' | 'moe' | 'block' | 'architecture'> {
  const k = opts.keys ?? HF_KEYS;
  const dim = r.int(k.dim);
  const nHeads = r.int(k.heads);
  const nKvHeads = r.has('num_key_value_heads') ? r.int('num_key_value_heads') : nHeads;
  if (nHeads % nKvHeads !== 0) {
    r.fail(
      `invalid config: num_attention_heads ${nHeads} is not divisible by num_key_value_heads ${nKvHeads}`,
    );
  }
  let headDim: number;
  if (opts.explicitHeadDim !== false && r.has('head_dim')) headDim = r.int('head_dim');
  else {
    if (dim % nHeads !== 0) {
      r.fail(`invalid config: ${k.dim} ${dim} is not divisible by ${k.heads} ${nHeads}`);
    }
    headDim = dim / nHeads;
  }
  const hiddenDim = opts.hiddenDim ?? r.int(k.hidden!);
  return {
    dim,
    hiddenDim,
    nLayers: r.int(k.layers),
    nHeads,
    nKvHeads,
    vocabSize: r.int('vocab_size'),
    seqLen: r.int(k.positions),
    sharedClassifier: r.bool('tie_word_embeddings', opts.tiedDefault),
    headDim,
    kvDim: nKvHeads * headDim,
  };
}

/** Every layer with the same attention: full causal, or one window when `window` < seqLen. */
export function uniformLayers(
  nLayers: number,
  ropeTheta: number,
  window: number | null,
  ropeScaling?: RopeScaling,
): LayerAttentionSpec[] {
  return Array.from({ length: nLayers }, () => ({
    window,
    ropeTheta,
    ...(ropeScaling ? { ropeScaling } : {}),
  }));
}

/** The sliding window a config sets, or null when none applies (absent, null, or ≥ the context). */
export function slidingWindowOf(r: ConfigReader, seqLen: number, enabled = true): number | null {
  if (!enabled || !r.has('sliding_window')) return null;
  const w = r.int('sliding_window');
  return w >= seqLen ? null : w;
}

/** Experts and top-k, checked against each other. */
export function moeOf(
  r: ConfigReader,
  keys: { experts: string; defaults: { experts: number; topK: number; normTopKProb: boolean } },
  extra: Partial<MoeConfig> = {},
): MoeConfig {
  const nExperts = r.int(keys.experts, keys.defaults.experts);
  const topK = r.int('num_experts_per_tok', keys.defaults.topK);
  if (topK > nExperts) {
    r.fail(`invalid config: num_experts_per_tok ${topK} exceeds ${keys.experts} ${nExperts}`);
  }
  return { nExperts, topK, normTopKProb: r.bool('norm_topk_prob', keys.defaults.normTopKProb), ...extra };
}
