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
import { hfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { planModelFiles } from '../../runtime/formats/model-files';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { writeSafetensors, type SafetensorsTensorInput } from '../../runtime/formats/safetensors-write';
import { FUZZ_SEED } from './inputs';
import {
  applyJsonEdit,
  applyText,
  ARCH_NAMES,
  archFiles,
  checkpointTensorEditArb,
  configEditArb,
  fileNamesArb,
  textEditArb,
  type ArchName,
  type CheckpointTensorEdit,
} from './model-inputs';
import {
  attemptInput,
  expectSoundCheckpoint,
  expectSoundConfig,
  expectSoundPlan,
  MAX_PARAMETERS,
  tableParameters,
} from './model-oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const CONFIG = 'config.json';
const rawConfig = (arch: ArchName) => JSON.parse(archFiles(arch).config) as Record<string, unknown>;

function checkConfig(text: string): void {
  const out = attemptInput(rss, [CONFIG], () => parseHfConfig(text, CONFIG));
  if ('value' in out) expectSoundConfig(out.value, JSON.parse(text) as Record<string, unknown>);
}

/** A fixture's tensors, one edit applied, as safetensors shards (named as the plan would read them). */
function editedCheckpoint(arch: ArchName, e: CheckpointTensorEdit): { config: string; shards: Uint8Array[] } {
  const file = parseSafetensors(archFiles(arch).weights, 'model.safetensors');
  const tensors: SafetensorsTensorInput[] = [...file.tensors.values()].map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: [...t.shape],
    data: ['F32', 'F16', 'BF16', 'F64'].includes(t.dtype) ? file.float32(t.name) : file.int32(t.name),
  }));
  const i = e.tensor % tensors.length;
  const t = tensors[i]!;
  let config = archFiles(arch).config;
  switch (e.op) {
    case 'shape':
      t.shape = [...t.shape].reverse().concat(t.shape.length === 1 ? [1] : []);
      break;
    case 'flat':
      t.shape = [t.data.length];
      break;
    case 'dtype':
      t.dtype = e.dtype;
      if (e.dtype === 'I32' || e.dtype === 'U8') t.data = Array.from(t.data, () => 1);
      break;
    case 'rename':
      t.name = e.at < 0.5 ? `model.${t.name}` : `${t.name}.x`;
      break;
    case 'drop':
      tensors.splice(i, 1);
      break;
    case 'value':
      t.data = Float32Array.from(t.data);
      (t.data as Float32Array)[Math.floor(e.at * t.data.length)] = e.value;
      break;
    case 'extra':
      tensors.push({ name: 'lm_head.bias', dtype: 'F32', shape: [1], data: [0] });
      break;
    case 'config': {
      const c = rawConfig(arch);
      const v = c[e.key];
      c[e.key] = typeof v === 'boolean' ? !v : typeof v === 'number' ? v + (e.at < 0.5 ? 1 : -1) : 2;
      config = JSON.stringify(c);
      break;
    }
  }
  if (e.op === 'split')
    return { config, shards: [writeSafetensors(tensors.slice(0, i)), writeSafetensors(tensors.slice(i))] };
  if (e.op === 'duplicate') return { config, shards: [writeSafetensors(tensors), writeSafetensors([t])] };
  return { config, shards: [writeSafetensors(tensors)] };
}

describe('config.json fuzz', () => {
  it('refuses absurd or wrong-typed fields of every architecture clearly, or reads plausible values', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARCH_NAMES),
        fc.array(configEditArb(), { minLength: 1, maxLength: 4 }),
        (arch, edits) => {
          const doc = edits.reduce<unknown>((d, e) => applyJsonEdit(d, e), rawConfig(arch));
          checkConfig(JSON.stringify(doc));
        },
      ),
      { seed: FUZZ_SEED, numRuns: 600, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses one-character edits and arbitrary JSON clearly, or reads plausible values', () => {
    const text = fc.oneof(
      fc
        .tuple(fc.constantFrom(...ARCH_NAMES), textEditArb())
        .map(([arch, e]) => applyText(archFiles(arch).config, e)),
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(text, (t) => {
        let raw: unknown;
        try {
          raw = JSON.parse(t);
        } catch {
          raw = undefined;
        }
        const out = attemptInput(rss, [CONFIG], () => parseHfConfig(t, CONFIG));
        if ('value' in out) expectSoundConfig(out.value, raw as Record<string, unknown>);
      }),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 2000 },
    );
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
  it('refuses incomplete, ambiguous and absurd file sets clearly, or plans only given files', () => {
    fc.assert(
      fc.property(fileNamesArb(), (names) => {
        const out = attemptInput(rss, [names.length ? names.join(', ') : '(no files)', 'folder'], () =>
          planModelFiles(names, names.length > 8 ? 'folder' : undefined),
        );
        if ('value' in out) expectSoundPlan(out.value, names);
      }),
      { seed: FUZZ_SEED, numRuns: 1000, interruptAfterTimeLimit: 2000 },
    );
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
  it('refuses reshaped, retyped, renamed, missing, duplicated or non-finite tensors clearly, or maps finite weights', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ARCH_NAMES), checkpointTensorEditArb(), (arch, e) => {
        const { config, shards } = editedCheckpoint(arch, e);
        const names = shards.map((_, k) => `model-0000${k + 1}-of-0000${shards.length}.safetensors`);
        const out = attemptInput(rss, [CONFIG, ...names, names.join(', ')], () => {
          const parsed = parseHfConfig(config, CONFIG);
          return {
            parsed,
            ck: hfCheckpoint(
              parsed,
              shards.map((b, k) => parseSafetensors(b, names[k]!)),
            ),
          };
        });
        if ('value' in out) expectSoundCheckpoint(out.value.ck, out.value.parsed);
      }),
      { seed: FUZZ_SEED, numRuns: 150, interruptAfterTimeLimit: 2500 },
    );
  });
});
