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
import { parseLlama2c } from '../../runtime/formats/llama2c';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import { FUZZ_SEED } from './inputs';
import {
  applyCheckpointEdit,
  applyTokenizerEdit,
  checkpointEditArb,
  hostileTokenizerArb,
  llama2cTokenizerBytes,
  stories260K,
  stories260Kv1,
  tok512,
  tokenizerEditArb,
} from './model-inputs';
import { attemptInput, expectSoundLlama2c, expectSoundLlama2cTokenizer } from './model-oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

function checkCheckpoint(bytes: Uint8Array): void {
  const out = attemptInput(rss, ['stories.bin'], () => parseLlama2c(bytes, 'stories.bin'));
  if ('value' in out) expectSoundLlama2c(out.value);
}

function checkTokenizer(bytes: Uint8Array): void {
  const out = attemptInput(rss, ['tok.bin'], () => Llama2cTokenizer.load(bytes, 'tok.bin'));
  if ('value' in out) expectSoundLlama2cTokenizer(out.value);
}

describe('llama2.c checkpoint fuzz', () => {
  it('refuses edits of a real checkpoint clearly, or reads exactly what they hold', () => {
    fc.assert(
      fc.property(fc.boolean(), checkpointEditArb(), (v1, e) => {
        checkCheckpoint(applyCheckpointEdit(v1 ? stories260Kv1() : stories260K(), e));
      }),
      { seed: FUZZ_SEED, numRuns: 250, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses arbitrary bytes and headers clearly', () => {
    const header = fc.array(fc.oneof(fc.integer(), fc.constantFrom(0, 64, 512, -512, 0x616b3432, 1)), {
      minLength: 0,
      maxLength: 12,
    });
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (ints, tail) => {
        const bytes = new Uint8Array(ints.length * 4 + tail.length);
        const view = new DataView(bytes.buffer);
        ints.forEach((v, i) => view.setInt32(i * 4, v, true));
        bytes.set(tail, ints.length * 4);
        checkCheckpoint(bytes);
      }),
      { seed: FUZZ_SEED, numRuns: 300, interruptAfterTimeLimit: 1500 },
    );
  });
});

describe('llama2.c tokenizer fuzz', () => {
  it('refuses edits of a real tokenizer clearly, or encodes soundly with what they hold', () => {
    fc.assert(
      fc.property(tokenizerEditArb(), (e) => checkTokenizer(applyTokenizerEdit(tok512(), e))),
      { seed: FUZZ_SEED, numRuns: 300, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses tiny and odd tokenizers clearly, or encodes soundly with them', () => {
    fc.assert(fc.property(hostileTokenizerArb(), checkTokenizer), {
      seed: FUZZ_SEED,
      numRuns: 300,
      interruptAfterTimeLimit: 1500,
    });
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
