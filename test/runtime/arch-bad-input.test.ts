/**
 * Bad real-model folders fail with a message naming the file and the problem: a missing tensor, a
 * wrong shape, NaN in a weight, an unknown activation or rope_scaling type (built from the
 * architecture fixtures with one thing broken each).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, ModelFormatError } from '../../runtime/errors';
import { hfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { parseSafetensors, type SafetensorsFile } from '../../runtime/formats/safetensors';
import { writeSafetensors, type SafetensorsTensorInput } from '../../runtime/formats/safetensors-write';

const dir = (name: string) => path.resolve(import.meta.dirname, '../fixtures/arch', name);
const WEIGHTS = 'model.safetensors';

function fixture(name: string) {
  const config = JSON.parse(readFileSync(path.join(dir(name), 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const st = parseSafetensors(readFileSync(path.join(dir(name), WEIGHTS)), WEIGHTS);
  return { config, st };
}

/** The file's tensors as writer input, with `edit` applied (return null to drop a tensor). */
function rewrite(
  st: SafetensorsFile,
  edit: (t: SafetensorsTensorInput) => SafetensorsTensorInput | null,
): SafetensorsFile {
  const tensors = [...st.tensors.keys()]
    .filter((n) => ['F32', 'F16', 'BF16'].includes(st.info(n).dtype))
    .map((n) =>
      edit({ name: n, dtype: st.info(n).dtype as 'F32', shape: st.info(n).shape, data: st.float32(n) }),
    )
    .filter((t) => t !== null);
  return parseSafetensors(writeSafetensors(tensors), WEIGHTS);
}

function loadError(config: Record<string, unknown>, st: SafetensorsFile, file: string): InputError {
  try {
    hfCheckpoint(parseHfConfig(config, 'config.json'), [st]);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as InputError).file).toBe(file);
    return e as InputError;
  }
  throw new Error('expected the load to fail');
}

describe('bad real-model folders name the file and the problem', () => {
  it('a missing tensor', () => {
    const { config, st } = fixture('gemma3');
    const broken = rewrite(st, (t) => (t.name === 'model.layers.1.self_attn.k_norm.weight' ? null : t));
    expect(loadError(config, broken, WEIGHTS).problem).toBe(
      'missing 1 tensor that config.json (Gemma3ForCausalLM, 4 layers) requires: model.layers.1.self_attn.k_norm.weight',
    );
  });

  it('a wrong shape', () => {
    const { config, st } = fixture('gpt2');
    const broken = rewrite(st, (t) =>
      t.name === 'h.0.attn.c_attn.weight' ? { ...t, shape: [t.shape[1]!, t.shape[0]!] } : t,
    );
    expect(loadError(config, broken, WEIGHTS).problem).toMatch(
      /^tensor "h\.0\.attn\.c_attn\.weight" has shape \[96, 32\]; config\.json implies \[32, 96\]$/,
    );
  });

  it('NaN or ±Infinity in a weight', () => {
    const { config, st } = fixture('qwen2');
    for (const bad of [NaN, Infinity, -Infinity]) {
      const broken = rewrite(st, (t) => {
        if (t.name !== 'model.layers.0.mlp.down_proj.weight') return t;
        const data = Float32Array.from(t.data);
        data[7] = bad;
        return { ...t, data };
      });
      expect(loadError(config, broken, WEIGHTS).problem).toBe(
        `tensor "model.layers.0.mlp.down_proj.weight" holds a non-finite value (${bad}) at index 7`,
      );
    }
  });

  it('an unknown activation or rope_scaling type is refused naming config.json and the option', () => {
    const { config, st } = fixture('llama3');
    const act = loadError({ ...config, hidden_act: 'swiglu_oai' }, st, 'config.json');
    expect(act.problem).toMatch(/^unsupported config: hidden_act "swiglu_oai" \(supported: "silu", /);
    const rope = loadError(
      { ...config, rope_scaling: { rope_type: 'longrope', factor: 4 } },
      st,
      'config.json',
    );
    expect(rope.problem).toBe(
      'unsupported config: rope_scaling type "longrope" (supported: "llama3", "linear", "default")',
    );
    const gemma = fixture('gemma2');
    expect(
      loadError({ ...gemma.config, hidden_activation: 'gelu_fast' }, gemma.st, 'config.json').problem,
    ).toMatch(/^unsupported config: hidden_activation "gelu_fast"/);
  });

  it('GPT-2 keys with the transformer. prefix load the same weights', () => {
    const { config, st } = fixture('gpt2');
    const prefixed = rewrite(st, (t) => ({ ...t, name: `transformer.${t.name}` }));
    const a = hfCheckpoint(parseHfConfig(config, 'config.json'), [st]);
    const b = hfCheckpoint(parseHfConfig(config, 'config.json'), [prefixed]);
    expect(b.weights).toEqual(a.weights);
  });
});
