import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadModelFiles } from '../../runtime';
import { InputError, ModelFormatError } from '../../runtime/errors';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import { modelPlanFiles, planModelFiles } from '../../runtime/formats/model-files';
import { readShared, TOK512 } from '../helpers/shared-paths';
import { toHf } from './hf-export';
import { randomWeights, tinyConfig } from './synthetic';

function planError(names: string[], source?: string): InputError {
  try {
    planModelFiles(names, source);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    return e as InputError;
  }
  throw new Error('expected planModelFiles to throw');
}

describe('planModelFiles', () => {
  it('an HF folder: reference.safetensors and texts are not weights', () => {
    expect(
      planModelFiles([
        'config.json',
        'model.safetensors',
        'tokenizer.bin',
        'reference.safetensors',
        'README.md',
      ]),
    ).toEqual({
      format: 'hf',
      config: 'config.json',
      weights: ['model.safetensors'],
      tokenizer: 'tokenizer.bin',
    });
    // Paths are matched by their base name; shards are taken in order.
    expect(
      planModelFiles([
        'm/model-00002-of-00002.safetensors',
        'm/config.json',
        'm/model-00001-of-00002.safetensors',
        'm/tokenizer.bin',
      ]),
    ).toEqual({
      format: 'hf',
      config: 'm/config.json',
      weights: ['m/model-00001-of-00002.safetensors', 'm/model-00002-of-00002.safetensors'],
      tokenizer: 'm/tokenizer.bin',
    });
    expect(planModelFiles(['config.json', 'weights.safetensors', 'tok.bin'])).toMatchObject({
      weights: ['weights.safetensors'],
      tokenizer: 'tok.bin',
    });
  });

  it('an HF folder with tokenizer.json (+ tokenizer_config.json), preferred to a tokenizer.bin', () => {
    const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
    const plan = planModelFiles([...files, 'generation_config.json', 'special_tokens_map.json']);
    expect(plan).toEqual({
      format: 'hf',
      config: 'config.json',
      weights: ['model.safetensors'],
      tokenizer: 'tokenizer.json',
      tokenizerConfig: 'tokenizer_config.json',
    });
    expect(modelPlanFiles(plan)).toEqual(files);
    expect(planModelFiles(['m/config.json', 'm/model.safetensors', 'm/tokenizer.json'])).toEqual({
      format: 'hf',
      config: 'm/config.json',
      weights: ['m/model.safetensors'],
      tokenizer: 'm/tokenizer.json',
    });
    expect(planModelFiles([...files, 'tokenizer.bin'])).toMatchObject({ tokenizer: 'tokenizer.json' });
    expect(
      planError(['config.json', 'model.safetensors', 'a/tokenizer.json', 'b/tokenizer.json']).problem,
    ).toMatch(/^ambiguous model files: 2 tokenizer\.json files/);
    expect(modelPlanFiles(planModelFiles(['stories260K.bin', 'tok512.bin']))).toEqual([
      'stories260K.bin',
      'tok512.bin',
    ]);
  });

  it('a llama2.c pair', () => {
    expect(planModelFiles(['stories260K.bin', 'tok512.bin'])).toEqual({
      format: 'llama2c',
      model: 'stories260K.bin',
      tokenizer: 'tok512.bin',
    });
  });

  it('incomplete sets say what is missing', () => {
    expect(planError(['model.safetensors', 'tokenizer.bin'], 'my-model').file).toBe('my-model');
    expect(planError(['model.safetensors', 'tokenizer.bin']).problem).toMatch(
      /^incomplete HF model: config\.json is missing beside model\.safetensors; expected config\.json \+ model\.safetensors \+ tokenizer\.json \(HF folder; or tokenizer\.bin\)/,
    );
    expect(planError(['config.json', 'tokenizer.bin']).problem).toMatch(
      /^incomplete HF model: model\.safetensors is missing/,
    );
    expect(planError(['config.json', 'model.safetensors', 'tokenizer.model']).problem).toMatch(
      /^incomplete HF model: tokenizer\.json is missing \(a SentencePiece tokenizer\.model alone is not read: add the tokenizer\.json saved beside it\); expected config\.json \+ model\.safetensors \+ tokenizer\.json/,
    );
    expect(
      planError([
        'config.json',
        'model-00001-of-00003.safetensors',
        'model-00003-of-00003.safetensors',
        'tokenizer.bin',
      ]).problem,
    ).toMatch(/3 weight shards expected, 1 missing \(2\)/);
  });

  it('absurd shard counts are refused at once, naming a few missing shards (fuzz finding)', () => {
    const t0 = performance.now();
    const huge = planError(['config.json', 'model-00001-of-4294967295.safetensors', 'tokenizer.json']);
    expect(huge.problem).toMatch(
      /^incomplete HF model: 4294967295 weight shards expected, 4294967294 missing \(2, 3, 4, 5, 6 and 4294967289 more\)/,
    );
    expect(huge.problem.length).toBeLessThan(400);
    expect(performance.now() - t0).toBeLessThan(100);
    expect(
      planError([
        'config.json',
        'model-00001-of-00002.safetensors',
        'model-00002-of-00003.safetensors',
        'tokenizer.json',
      ]).problem,
    ).toMatch(/^inconsistent HF shards: some say 2 shards, others 3/);
    expect(planError(['config.json', 'model-00000-of-00001.safetensors', 'tokenizer.json']).problem).toMatch(
      /^invalid HF shard name: shard 0 of 1/,
    );
    expect(planError(['stories260K.bin']).problem).toMatch(/incomplete llama2\.c model: no tokenizer \.bin/);
    expect(planError(['tok512.bin']).problem).toMatch(/a tokenizer but no checkpoint/);
    expect(planError([]).problem).toMatch(/^no model files: expected .*; found: nothing$/);
  });

  it('ambiguous sets are refused, listing the candidates', () => {
    expect(planError(['config.json', 'a.safetensors', 'b.safetensors', 'tokenizer.bin']).problem).toMatch(
      /ambiguous model files: several \.safetensors files \(a\.safetensors, b\.safetensors\) and none named model\.safetensors/,
    );
    expect(
      planError(['config.json', 'model.safetensors', 'tokenizer.bin', 'stories260K.bin']).problem,
    ).toMatch(/ambiguous model files: config\.json \(HF\) beside the \.bin file stories260K\.bin/);
    expect(planError(['a.bin', 'b.bin', 'tok.bin']).problem).toMatch(
      /several checkpoints \(a\.bin, b\.bin\)/,
    );
    expect(planError(['config.json', 'model.safetensors', 'tok1.bin', 'tok2.bin']).problem).toMatch(
      /several tokenizers/,
    );
  });
});

describe('loadModelFiles', () => {
  const backend = createCpuBackend();
  const tok = new Uint8Array(readShared(TOK512));
  const config = tinyConfig({ dim: 16, nHeads: 2, nKvHeads: 1, vocabSize: 512, seqLen: 8 });
  const weights = randomWeights(config, 9);

  it('loads either format to the same logits', async () => {
    const hf = toHf(config, weights);
    const a = loadModelFiles(backend, [
      { name: 'config.json', bytes: hf.config },
      { name: 'model.safetensors', bytes: hf.weights },
      { name: 'tokenizer.bin', bytes: tok },
      { name: 'reference.safetensors', bytes: new Uint8Array(3) }, // not read
    ]);
    const b = loadModelFiles(backend, [
      { name: 'tiny.bin', bytes: writeLlama2c(config, weights) },
      { name: 'tok512.bin', bytes: tok },
    ]);
    expect(a.format).toBe('hf');
    expect(b.format).toBe('llama2c');
    // Same shape; only the HF folder names its architecture.
    expect(a.info.hfArchitecture).toBe('LlamaForCausalLM');
    expect(b.info.hfArchitecture).toBeNull();
    expect({ ...a.info, hfArchitecture: null }).toEqual(b.info);
    const ids = Int32Array.of(1, 5, 200, 7);
    const [x, y] = await Promise.all([a.model.forward(ids), b.model.forward(ids)]);
    const [u, v] = await Promise.all([backend.read(x), backend.read(y)]);
    expect(Array.from(u).every((n, i) => Math.abs(n - v[i]!) < 1e-5)).toBe(true);
  });

  it('names the set when it is incomplete, and the file when one is bad', () => {
    expect(() =>
      loadModelFiles(backend, [{ name: 'model.safetensors', bytes: new Uint8Array(8) }], { source: 'dir' }),
    ).toThrow(/^dir: incomplete HF model: config\.json is missing/);
    expect(() =>
      loadModelFiles(backend, [
        { name: 'config.json', bytes: new TextEncoder().encode('{}') },
        { name: 'model.safetensors', bytes: new Uint8Array(8) },
        { name: 'tokenizer.bin', bytes: tok },
      ]),
    ).toThrow(/^config\.json: unknown architecture/);
  });
});
