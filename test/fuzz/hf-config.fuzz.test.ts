/**
 * Hugging Face model-folder fuzz (seeded, bounded): config.json of every architecture in the
 * registry (the fixtures' real configs with fields set to absurd, just-past-the-limit and
 * wrong-typed values, one-character edits, arbitrary JSON), the model-folder plan (file lists with
 * strays, absurd and duplicate shards, thousands of files) and the full checkpoint mapping (a
 * fixture's tensors reshaped, retyped, renamed, dropped, duplicated across shards, or holding
 * NaN/±Inf; its config edited). Each is refused with a ModelFormatError naming a file, or gives a
 * config whose values are plausible and whose tensors number at most 2^35 parameters, a plan of
 * given files, and finite weights as many as the tensor table says.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { planModelFiles } from '../../runtime/formats/model-files';
import { FUZZ_SEED } from './inputs';
import { caseArb, checkCase, type ModelParser } from './model-cases';
import { archFiles, type ArchName } from './model-inputs';
import { MAX_PARAMETERS, tableParameters } from './model-oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const CONFIG = 'config.json';
const rawConfig = (arch: ArchName) => JSON.parse(archFiles(arch).config) as Record<string, unknown>;
const fuzz = (parser: ModelParser, numRuns: number, ms: number) =>
  fc.assert(
    fc.asyncProperty(caseArb(parser), async (c) => void (await checkCase(rss, c))),
    { seed: FUZZ_SEED, numRuns, interruptAfterTimeLimit: ms },
  );

describe('config.json fuzz', () => {
  it('refuses absurd, wrong-typed or damaged configs of every architecture clearly, or reads plausible values', async () => {
    await fuzz('hf-config', 800, 2000);
  });

  it('refuses sizes that imply more than 2^35 parameters, counting what the tensor table holds', () => {
    // Each was accepted before: the estimate left out an explicit head_dim, learned positions and
    // the shared expert (1.1e12, 1.6e11, 8.6e10 and 5.2e10 parameters).
    const cases: [ArchName, Record<string, unknown>][] = [
      [
        'qwen3',
        {
          hidden_size: 65536,
          num_attention_heads: 1024,
          num_key_value_heads: 1024,
          head_dim: 4096,
          num_hidden_layers: 1,
          intermediate_size: 1,
          vocab_size: 1,
        },
      ],
      [
        'gemma2',
        {
          hidden_size: 8,
          num_attention_heads: 1024,
          num_key_value_heads: 1024,
          head_dim: 4096,
          num_hidden_layers: 1024,
          intermediate_size: 1,
          vocab_size: 1,
        },
      ],
      ['gpt2', { n_embd: 65536, n_head: 1, n_positions: 1 << 20, n_layer: 1, n_inner: 1, vocab_size: 1 }],
      [
        'qwen2_moe',
        {
          hidden_size: 65536,
          num_attention_heads: 1,
          num_key_value_heads: 1,
          num_hidden_layers: 1,
          moe_intermediate_size: 1,
          shared_expert_intermediate_size: 262144,
          num_experts: 1,
          num_experts_per_tok: 1,
          vocab_size: 1,
        },
      ],
    ];
    for (const [arch, sizes] of cases) {
      const text = JSON.stringify({ ...rawConfig(arch), ...sizes });
      expect(() => parseHfConfig(text, CONFIG)).toThrow(
        /^config\.json: invalid config: the sizes imply .* parameters/,
      );
    }
    // The bound is on what would be allocated: just under it, a config is read.
    const big = parseHfConfig(
      JSON.stringify({
        ...rawConfig('llama3'),
        hidden_size: 16384,
        intermediate_size: 53248,
        num_hidden_layers: 10,
        num_attention_heads: 128,
        num_key_value_heads: 8,
        vocab_size: 128256,
      }),
      CONFIG,
    );
    expect(tableParameters(big)).toBeLessThanOrEqual(MAX_PARAMETERS);
  });

  it('refuses rms_norm_eps 0.1, and query_pre_attn_scalar and rope_scaling positions outside their ranges', () => {
    const read = (arch: ArchName, edit: Record<string, unknown>) => () =>
      parseHfConfig(JSON.stringify({ ...rawConfig(arch), ...edit }), CONFIG);
    expect(read('llama3', { rms_norm_eps: 0.1 })).toThrow(
      'config.json: invalid config: "rms_norm_eps" = 0.1 is outside the plausible range [1e-12, 0.1)',
    );
    expect(read('gpt2', { layer_norm_epsilon: 0.1 })).toThrow(/"layer_norm_epsilon" = 0.1 is outside/);
    expect(read('llama3', { rms_norm_eps: 0.0999 })).not.toThrow();
    expect(read('gemma2', { query_pre_attn_scalar: 1e-300 })).toThrow(
      'config.json: invalid config: "query_pre_attn_scalar" = 1e-300 is outside the plausible range [1, 65536]',
    );
    const scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 };
    expect(
      read('llama3', { rope_scaling: { ...scaling, original_max_position_embeddings: 1e-300 } }),
    ).toThrow(/"original_max_position_embeddings" = 1e-300 is outside the plausible range \[1, 16777216\]/);
    // A missing field is named as missing (was: "model_type undefined", "rope_scaling type undefined").
    expect(() => parseHfConfig('{}', CONFIG)).toThrow(
      /^config\.json: unknown architecture: no "architectures" and no "model_type"; supported: GPT2LMHeadModel, /,
    );
    expect(read('olmoe', { rope_scaling: {} })).toThrow(
      'config.json: unsupported config: rope_scaling has no rope_type (supported: "llama3", "linear", "default")',
    );
    // Already refused before the fuzzing: rope_theta outside [1, 1e12], fewer than 8 positions.
    expect(read('llama3', { rope_theta: 0.5 })).toThrow(/"rope_theta" = 0.5 is outside/);
    expect(read('llama3', { rope_theta: 1.5e12 })).toThrow(/"rope_theta" = 1500000000000 is outside/);
    expect(read('llama3', { max_position_embeddings: 7 })).toThrow(/below the minimum 8/);
  });
});

describe('model folder plan fuzz', () => {
  it('refuses incomplete, ambiguous and absurd file sets clearly, or plans only given files', async () => {
    await fuzz('model-files', 1000, 1500);
  });

  it('refuses a shard given twice (was: read 3 files for 2 shards)', () => {
    const two = (first: string) => [
      'config.json',
      'tokenizer.json',
      first,
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ];
    expect(() => planModelFiles(two('a/model-00001-of-00002.safetensors'), 'm')).toThrow(
      'm: ambiguous model files: shard 1 of 2 is given more than once (model-00001-of-00002.safetensors, model-00001-of-00002.safetensors); found: config.json, tokenizer.json, model-00001-of-00002.safetensors, model-00001-of-00002.safetensors, model-00002-of-00002.safetensors',
    );
    expect(() => planModelFiles(two('model-1-of-2.safetensors'), 'm')).toThrow(
      /shard 1 of 2 is given more than once \(model-00001-of-00002\.safetensors, model-1-of-2\.safetensors\)/,
    );
  });

  it('lists at most 12 names in a message (was: every file of a 3,000-file folder, twice)', () => {
    const names = Array.from({ length: 3000 }, (_, i) => `file-${i}.bin`);
    let message = '';
    try {
      planModelFiles(names);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(
      /^file-0\.bin, .*, file-11\.bin and 2,988 more: ambiguous model files: several checkpoints \(file-0\.bin, .* and 2,988 more\); .*found: file-0\.bin, .* and 2,988 more$/,
    );
    expect(message.length).toBeLessThan(1000);
  });
});

describe('HF checkpoint fuzz', () => {
  it('refuses reshaped, retyped, renamed, missing, duplicated or non-finite tensors clearly, or maps finite weights', async () => {
    await fuzz('hf-checkpoint', 120, 1500);
  });
});
