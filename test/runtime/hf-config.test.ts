import { describe, expect, it } from 'vitest';
import { InputError, ModelFormatError } from '../../runtime/errors';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { hfConfigJson } from './hf-export';
import { tinyConfig, tinyMoeConfig } from './synthetic';

const FILE = 'config.json';

// As written by HF's save_pretrained for a small Llama (trimmed of unused ids).
const llama = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 172,
  num_hidden_layers: 5,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  vocab_size: 512,
  max_position_embeddings: 512,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  rope_scaling: null,
  attention_bias: false,
  torch_dtype: 'float32',
  bos_token_id: 1,
};

function configError(json: unknown): InputError {
  try {
    parseHfConfig(typeof json === 'string' ? json : JSON.stringify(json), FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as InputError).file).toBe(FILE);
    return e as InputError;
  }
  throw new Error('expected parseHfConfig to throw');
}

describe('parseHfConfig', () => {
  it('maps a Llama config', () => {
    const { architecture, config } = parseHfConfig(JSON.stringify(llama), FILE);
    expect(architecture).toBe('LlamaForCausalLM');
    expect(config).toMatchObject({
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      sharedClassifier: true,
      headDim: 8,
      kvDim: 32,
      normEps: 1e-5,
      ropeTheta: 10000,
      moe: null,
      architecture: 'LlamaForCausalLM',
    });
    // HF checkpoints keep q/k rows in rotate_half order; no biases, SwiGLU, pre-norm.
    expect(config.block).toMatchObject({
      norm: 'rms',
      normPlacement: 'pre',
      positions: { kind: 'rope', style: 'half', rotaryDim: 8 },
      activation: 'silu',
      gated: true,
      biases: { qkv: false, o: false, mlp: false },
    });
    expect(config.block!.layers).toHaveLength(5);
    expect(config.block!.layers[0]).toEqual({ window: null, ropeTheta: 10000 });
  });

  it('maps a Mixtral config, with bytes input and HF defaults', () => {
    const mixtral = hfConfigJson(tinyMoeConfig({ hiddenDim: 16 }, { nExperts: 8 }), {
      rms_norm_eps: 1e-6,
      rope_theta: 5e5,
    });
    const { architecture, config } = parseHfConfig(new TextEncoder().encode(JSON.stringify(mixtral)), FILE);
    expect(architecture).toBe('MixtralForCausalLM');
    expect(config.moe).toEqual({ nExperts: 8, topK: 2, normTopKProb: true });
    expect(config).toMatchObject({ normEps: 1e-6, ropeTheta: 5e5, hiddenDim: 16, sharedClassifier: true });

    const bare = { ...mixtral } as Record<string, unknown>;
    for (const k of [
      'num_local_experts',
      'num_experts_per_tok',
      'rms_norm_eps',
      'rope_theta',
      'tie_word_embeddings',
      'architectures',
    ])
      delete bare[k];
    const d = parseHfConfig(bare, FILE).config; // model_type alone picks the architecture
    expect(d.moe).toEqual({ nExperts: 8, topK: 2, normTopKProb: true });
    expect(d).toMatchObject({ normEps: 1e-5, ropeTheta: 1e6, sharedClassifier: false });
    expect(parseHfConfig({ ...mixtral, norm_topk_prob: false }, FILE).config.moe!.normTopKProb).toBe(false);
  });

  it('num_key_value_heads defaults to num_attention_heads; head_dim may repeat the implied size', () => {
    const { num_key_value_heads: _drop, ...rest } = llama;
    expect(parseHfConfig({ ...rest, head_dim: 8 }, FILE).config.nKvHeads).toBe(8);
  });

  it('round-trips the test exporter', () => {
    const c = tinyConfig({ sharedClassifier: false });
    expect(parseHfConfig(hfConfigJson(c), FILE).config).toMatchObject(c);
  });
});

describe('parseHfConfig: supported options', () => {
  it('Llama biases, Llama 3 rope scaling and Mixtral sliding windows are read, not refused', () => {
    const scaled = parseHfConfig(
      {
        ...llama,
        attention_bias: true,
        mlp_bias: true,
        rope_scaling: {
          rope_type: 'llama3',
          factor: 32,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 8192,
        },
      },
      FILE,
    ).config;
    expect(scaled.block!.biases).toEqual({ qkv: true, o: true, mlp: true });
    expect(scaled.block!.layers[0]!.ropeScaling).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    const moe = hfConfigJson(tinyMoeConfig({ seqLen: 16 }));
    expect(parseHfConfig({ ...moe, sliding_window: 4 }, FILE).config.block!.layers[0]!.window).toBe(4);
    expect(parseHfConfig({ ...moe, sliding_window: 16 }, FILE).config.block!.layers[0]!.window).toBeNull();
  });
});

describe('parseHfConfig: absurd values are refused before anything is allocated', () => {
  it.each([
    [{ rms_norm_eps: 1 }, /"rms_norm_eps" = 1 is outside the plausible range/],
    [{ rms_norm_eps: 1e308 }, /"rms_norm_eps" = 1e\+308 is outside/],
    [{ rope_theta: 1e-300 }, /"rope_theta" = 1e-300 is outside/],
    [{ rope_theta: 1e13 }, /"rope_theta" = 10000000000000 is outside/],
    [{ max_position_embeddings: 3 }, /"max_position_embeddings" = 3 is below the minimum 8/],
    [
      {
        num_hidden_layers: 1024,
        intermediate_size: 1 << 18,
        hidden_size: 1 << 16,
        num_attention_heads: 1024,
        num_key_value_heads: 1024,
      },
      /parameters \(\d+ GiB as float32\), beyond what this runtime can hold/,
    ],
    [
      {
        architectures: ['MixtralForCausalLM'],
        model_type: 'mixtral',
        num_hidden_layers: 1024,
        num_local_experts: 1024,
      },
      /1024 layers × 1024 experts is beyond any real model/,
    ],
  ])('%j', (patch, message) => {
    expect(configError({ ...llama, ...patch }).problem).toMatch(message);
  });
});

describe('parseHfConfig: bad configs name the file and the problem', () => {
  it('not JSON / not an object', () => {
    expect(configError('{"hidden_size": ').problem).toMatch(/^invalid config: not JSON/);
    expect(configError('[1]').problem).toBe('invalid config: expected a JSON object');
  });

  it('unknown or inconsistent architecture', () => {
    expect(configError({ ...llama, architectures: ['BertForMaskedLM'] }).problem).toMatch(
      /^unknown architecture \["BertForMaskedLM"\]; supported: GPT2LMHeadModel, GPTNeoXForCausalLM, LlamaForCausalLM, .*GraniteMoeForCausalLM$/,
    );
    const { architectures: _a, ...noArch } = llama;
    expect(configError({ ...noArch, model_type: 'bert' }).problem).toMatch(
      /no "architectures" and model_type "bert"/,
    );
    expect(parseHfConfig({ ...noArch, model_type: 'qwen2' }, FILE).architecture).toBe('Qwen2ForCausalLM');
    expect(configError({ ...llama, model_type: 'mixtral' }).problem).toMatch(
      /architectures says LlamaForCausalLM but model_type is "mixtral"/,
    );
  });

  it('missing and non-integer fields', () => {
    const { hidden_size: _h, ...noHidden } = llama;
    expect(configError(noHidden).problem).toBe('invalid config: "hidden_size" is missing');
    expect(configError({ ...llama, num_hidden_layers: 2.5 }).problem).toBe(
      'invalid config: "num_hidden_layers" must be a positive integer, found 2.5',
    );
    expect(configError({ ...llama, vocab_size: '512' }).problem).toMatch(
      /"vocab_size" must be a positive integer, found "512"/,
    );
    expect(configError({ ...llama, vocab_size: 1 << 30 }).problem).toMatch(/exceeds the supported maximum/);
    expect(configError({ ...llama, rms_norm_eps: -1 }).problem).toMatch(
      /"rms_norm_eps" must be a positive number/,
    );
    expect(configError({ ...llama, tie_word_embeddings: 'yes' }).problem).toMatch(/must be true or false/);
  });

  it('inconsistent head counts', () => {
    expect(configError({ ...llama, num_attention_heads: 6, num_key_value_heads: 6 }).problem).toBe(
      'invalid config: hidden_size 64 is not divisible by num_attention_heads 6',
    );
    expect(configError({ ...llama, num_key_value_heads: 3 }).problem).toBe(
      'invalid config: num_attention_heads 8 is not divisible by num_key_value_heads 3',
    );
    // An explicit head_dim (Qwen 3, Gemma) may differ from hidden_size / num_attention_heads.
    expect(parseHfConfig({ ...llama, head_dim: 16 }, FILE).config).toMatchObject({ headDim: 16, kvDim: 64 });
    expect(configError({ ...llama, num_attention_heads: 64, num_key_value_heads: 64 }).problem).toMatch(
      /head size 1 is odd/,
    );
  });

  it('options the runtime does not implement', () => {
    expect(configError({ ...llama, rope_scaling: { rope_type: 'yarn', factor: 2 } }).problem).toBe(
      'unsupported config: rope_scaling type "yarn" (supported: "llama3", "linear", "default")',
    );
    expect(configError({ ...llama, hidden_act: 'quick_gelu' }).problem).toMatch(
      /^unsupported config: hidden_act "quick_gelu" \(supported: "silu", .*\)$/,
    );
    expect(configError({ ...llama, pretraining_tp: 2 }).problem).toMatch(/pretraining_tp = 2/);
    expect(
      configError({
        ...llama,
        architectures: ['Qwen2ForCausalLM'],
        model_type: 'qwen2',
        use_sliding_window: true,
      }).problem,
    ).toMatch(/^unsupported config: use_sliding_window = true/);
    const moe = hfConfigJson(tinyMoeConfig({ seqLen: 16 }));
    expect(configError({ ...moe, num_experts_per_tok: 5 }).problem).toMatch(
      /num_experts_per_tok 5 exceeds num_local_experts 4/,
    );
  });
});
