/**
 * llama2.c checkpoint and tokenizer reader fuzz (seeded, bounded): edits of the shared
 * stories260K.bin (legacy, and rewritten as version 1) and tok512.bin: header fields set to zero,
 * negative, just-past-the-limit and overflowing values, bad magic/version/flag bytes, NaN/±Inf
 * weights and scores, negative and huge token lengths, truncation (inside a record and at a
 * record boundary), bit flips; and tiny tokenizers from scratch. Each is refused with a
 * ModelFormatError / TokenizerError naming the file, or read soundly (see model-oracles.ts).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import { FUZZ_SEED } from './inputs';
import { caseArb, checkCase } from './model-cases';
import { applyTokenizerEdit, llama2cTokenizerBytes, tok512 } from './model-inputs';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

describe('llama2.c checkpoint fuzz', () => {
  it('refuses edits of a real checkpoint and hostile headers clearly, or reads exactly what they hold', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb('llama2c'), async (c) => void (await checkCase(rss, c))),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 2000 },
    );
  });
});

describe('llama2.c tokenizer fuzz', () => {
  it('refuses edits of a real tokenizer and tiny ones clearly, or encodes soundly with them', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb('llama2c-tokenizer'), async (c) => void (await checkCase(rss, c))),
      { seed: FUZZ_SEED, numRuns: 500, interruptAfterTimeLimit: 2000 },
    );
  });

  it('refuses a vocabulary without BOS and EOS (was: encode gave id 1 of a 1-token vocabulary)', () => {
    const piece = (s: string) => new TextEncoder().encode(s);
    expect(() => Llama2cTokenizer.load(llama2cTokenizerBytes(4, [[0, piece(' ')]]), 'tok.bin')).toThrow(
      'tok.bin: invalid tokenizer: only 1 token; a llama2.c vocabulary has at least 3 (<unk>, BOS = 1, EOS = 2)',
    );
    const two = llama2cTokenizerBytes(8, [
      [0, piece('<unk>')],
      [0, piece(' ')],
    ]);
    expect(() => Llama2cTokenizer.load(two, 'tok.bin')).toThrow(
      /only 2 tokens; a llama2.c vocabulary has at least 3/,
    );
    // tok512.bin cut after its third record still loads: <unk>, BOS and EOS.
    const three = applyTokenizerEdit(tok512(), { kind: 'cut', tokens: 3 });
    expect(Llama2cTokenizer.load(three, 'tok.bin').vocabSize).toBe(3);
  });
});
