/**
 * The tokenizers of the architecture fixtures (test/fixtures/arch/*, written by tools/fixtures with
 * each family's special tokens and config fields): HfTokenizer picks the document token each
 * generator put first in its reference tokens (Llama/Gemma/Mistral BOS, GPT-2/Qwen/Pythia
 * bos_token_id, OLMoE's EOS), encodes like the generators' own encoder (tools/fixtures/common.py
 * bpe_encode: ids below), and fits each model's embedding (Qwen's padded one, Gemma 3's image token
 * past it).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCompatible } from '../../runtime/compatibility';
import { HfTokenizer } from '../../runtime/tokenizers/hf-tokenizer';

const root = path.resolve(import.meta.dirname, '../fixtures/arch');
const archs = readdirSync(root).filter((a) => existsSync(path.join(root, a, 'tokenizer.json')));

function load(arch: string) {
  const file = (f: string) => readFileSync(path.join(root, arch, f));
  const config = JSON.parse(file('config.json').toString('utf8')) as { vocab_size: number };
  const reference = JSON.parse(file('reference.json').toString('utf8')) as { tokens: number[] };
  const tok = HfTokenizer.load(
    {
      tokenizer: file('tokenizer.json'),
      tokenizerConfig: file('tokenizer_config.json'),
      config: file('config.json'),
    },
    {},
    { embedding: { rows: config.vocab_size, model: 'config.json' } },
  );
  return { tok, config, reference };
}

describe('architecture fixture tokenizers', () => {
  it('there are fixtures', () => expect(archs.length).toBeGreaterThanOrEqual(10));

  for (const arch of archs) {
    it(`${arch}: the reference's first token is the document token; it fits the embedding`, () => {
      const { tok, config, reference } = load(arch);
      expect(tok.documentToken).toBe(reference.tokens[0]);
      expect(tok.isSpecial(tok.documentToken)).toBe(true);
      expect(() =>
        checkCompatible({ vocabSize: config.vocab_size }, tok, {
          model: 'config.json',
          tokenizer: 'tokenizer.json',
        }),
      ).not.toThrow();
      const text = 'The cat sat on the mat, and she was in the house.';
      expect(tok.decodeAll(tok.encode(text))).toBe(text);
    });
  }

  it('gpt2: "The" and " the" merge as tools/fixtures/common.py MERGES say', () => {
    const { tok } = load('gpt2');
    const vocab = JSON.parse(readFileSync(path.join(root, 'gpt2/tokenizer.json'), 'utf8')).model
      .vocab as Record<string, number>;
    // "T he" and "Ġt he" are merges, so each word is one token.
    expect([...tok.encode('The the', { bos: false })]).toEqual([vocab['The'], vocab['Ġthe']]);
  });
});
