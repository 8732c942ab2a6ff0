import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { checkCompatible } from '../../runtime/compatibility';
import { CompatibilityError, TextError, TokenizerError } from '../../runtime/errors';
import { parseLlama2c } from '../../runtime/formats/llama2c';
import { loadLlama2c } from '../../runtime/index';
import { splitDocuments } from '../../runtime/text';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import {
  LLAMA2_TOKENIZER,
  readShared,
  STORIES260K,
  TINYSTORIES_VALID,
  TOK512,
} from '../helpers/shared-paths';

const tokBytes = new Uint8Array(readShared(TOK512));
const tok = Llama2cTokenizer.load(tokBytes, 'tok512.bin');
const llama = Llama2cTokenizer.load(readShared(LLAMA2_TOKENIZER), 'llama2-32000.bin');
const stories = splitDocuments(new TextDecoder().decode(readShared(TINYSTORIES_VALID))).documents;

/**
 * run.c `encode` transcribed literally (quadratic rescans), to check the heap-based merge against.
 * Pieces are compared as byte strings, like strcmp.
 */
function naiveEncode(t: Llama2cTokenizer, text: string): number[] {
  const keys = t.pieces.map((p) => String.fromCharCode(...p));
  const index = new Map<string, number>();
  keys.forEach((k, i) => index.has(k) || index.set(k, i));
  const lookup = (s: string) => index.get(s) ?? -1;
  const bytes = new TextEncoder().encode(text);
  const tokens = [1];
  if (bytes.length > 0) tokens.push(lookup(' '));
  let buf: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i]! & 0xc0) !== 0x80) buf = [];
    buf.push(bytes[i]!);
    if (i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup(String.fromCharCode(...buf));
    if (id !== -1) tokens.push(id);
    else for (const b of buf) tokens.push(b + 3);
    buf = [];
  }
  for (;;) {
    let bestScore = Math.fround(-1e10);
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup(keys[tokens[i]!]! + keys[tokens[i + 1]!]!);
      if (id !== -1 && t.scores[id]! > bestScore) {
        bestScore = t.scores[id]!;
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  return tokens;
}

describe('Llama2cTokenizer: loading', () => {
  it('reads tok512.bin and llama2-32000.bin', () => {
    expect(tok.vocabSize).toBe(512);
    expect(tok.maxTokenLength).toBe(7);
    expect(tok.piece(403)).toBe(' Once');
    expect(llama.vocabSize).toBe(32000);
    expect(llama.maxTokenLength).toBe(27);
  });
});

describe('Llama2cTokenizer: encode as run.c', () => {
  it('"Hello world" with the Llama 2 tokenizer is [1, 15043, 3186]', () => {
    expect(Array.from(llama.encode('Hello world'))).toEqual([1, 15043, 3186]);
    expect(Array.from(llama.encode('Hello world', { bos: false, eos: true }))).toEqual([15043, 3186, 2]);
  });

  it('"Once upon a time" with tok512', () => {
    const ids = tok.encode('Once upon a time');
    expect(Array.from(ids)).toEqual([1, 403, 407, 261, 378]);
    expect(tok.decodeAll(ids)).toBe('Once upon a time');
  });

  it('empty text is BOS alone (no dummy prefix)', () => {
    expect(Array.from(tok.encode(''))).toEqual([1]);
    expect(Array.from(tok.encode('', { bos: false }))).toEqual([]);
  });

  it('matches a literal transcription of run.c encode', () => {
    const samples = [
      ...stories.slice(0, 3),
      'a  b   c\n\nd\t',
      'Tim\'s "big" dog ran, and ran... and RAN!',
      'naïve café — 日本語 😀🎉 ok',
      ' leading and trailing ',
    ];
    for (const s of samples) {
      expect(Array.from(tok.encode(s))).toEqual(naiveEncode(tok, s));
      expect(Array.from(llama.encode(s))).toEqual(naiveEncode(llama, s));
    }
  });

  it('falls back to byte tokens (byte + 3) for characters outside the vocabulary', () => {
    const ids = Array.from(tok.encode('😀', { bos: false }));
    // dummy-prefix " ", then the four UTF-8 bytes F0 9F 98 80 as byte tokens.
    expect(ids.slice(-4)).toEqual([0xf0 + 3, 0x9f + 3, 0x98 + 3, 0x80 + 3]);
    for (const s of ['😀', '日本語のテキスト', 'mixed 🐉 dragon ✓ and Ω']) {
      expect(tok.decodeAll(tok.encode(s))).toBe(s);
    }
  });

  it('refuses unpaired surrogates', () => {
    expect(() => tok.encode('bad \ud800 text', { source: 'prompt' })).toThrow(TextError);
    expect(() => tok.encode('bad \ud800 text', { source: 'prompt' })).toThrow(
      /^prompt: cannot encode: unpaired UTF-16 surrogate at character 4/,
    );
  });
});

describe('Llama2cTokenizer: decode as run.c', () => {
  it('drops the leading space after BOS only', () => {
    expect(tok.decode(1, 403)).toBe('Once');
    expect(tok.decode(407, 403)).toBe(' Once');
  });

  it('turns <0xNN> pieces into raw bytes', () => {
    expect(tok.piece(0x41 + 3)).toBe('<0x41>');
    expect(Array.from(tok.decodeBytes(5, 0x41 + 3))).toEqual([0x41]);
    expect(tok.decode(5, 0x0a + 3)).toBe('\n');
  });

  it('decodeAll assembles multi-byte characters split over byte tokens', () => {
    const ids = [1, 0xe6 + 3, 0x97 + 3, 0xa5 + 3]; // 日 = E6 97 A5
    expect(tok.decodeAll(ids)).toBe('日');
    // Per-token decoding cannot: each lone byte is an invalid sequence.
    expect(tok.decode(1, 0xe6 + 3)).toBe('\ufffd');
  });

  it('round-trips the first 200 TinyStories documents with both tokenizers', () => {
    for (const s of stories.slice(0, 200)) {
      expect(tok.decodeAll(tok.encode(s))).toBe(s);
      expect(llama.decodeAll(llama.encode(s))).toBe(s);
    }
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tok.decode(1, 512)).toThrow(
      /token id 512 is outside the vocabulary \[0, 512\) of tok512.bin/,
    );
  });
});

describe('Llama2cTokenizer: bad files name the file and the problem', () => {
  const loadError = (data: Uint8Array, name = 'tok.bin'): TokenizerError => {
    try {
      Llama2cTokenizer.load(data, name);
    } catch (e) {
      expect(e).toBeInstanceOf(TokenizerError);
      expect((e as TokenizerError).file).toBe(name);
      return e as TokenizerError;
    }
    throw new Error('expected Llama2cTokenizer.load to throw');
  };
  /** A tokenizer file from [score, bytes-or-length] entries. */
  const build = (maxLen: number, entries: [number, number, number[]][]): Uint8Array => {
    const size = 4 + entries.reduce((n, [, , b]) => n + 8 + b.length, 0);
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    view.setInt32(0, maxLen, true);
    let o = 4;
    for (const [score, len, b] of entries) {
      view.setFloat32(o, score, true);
      view.setInt32(o + 4, len, true);
      out.set(b, o + 8);
      o += 8 + b.length;
    }
    return out;
  };

  it('truncated inside a piece and inside a header', () => {
    // Entries: <unk> and "\n<s>\n" take 13 bytes, "\n</s>\n" 14, each <0xNN> 14: token 6 starts at byte 86.
    expect(loadError(tokBytes.slice(0, 96), 'tok512.bin').message).toMatch(
      /^tok512.bin: truncated tokenizer: token 6 declares 6 bytes but only 2 remain/,
    );
    expect(loadError(tokBytes.slice(0, 90), 'tok512.bin').problem).toMatch(
      /truncated tokenizer: token 6 starts at byte 86 but the file ends 4 bytes later/,
    );
    // Cut exactly between entries the file is a valid 7-token tokenizer; the vocab check catches that.
    expect(Llama2cTokenizer.load(tokBytes.slice(0, 100), 'tok512.bin').vocabSize).toBe(7);
    expect(loadError(new Uint8Array(2)).problem).toMatch(/fewer than the 4-byte header/);
  });

  it('negative and oversize lengths, bad header, no tokens', () => {
    expect(
      loadError(
        build(4, [
          [0, 1, [65]],
          [0, -5, []],
        ]),
      ).problem,
    ).toMatch(/token 1 has negative length -5/);
    expect(loadError(build(2, [[0, 3, [65, 66, 67]]])).problem).toMatch(
      /token 0 has length 3, more than max_token_length 2/,
    );
    expect(loadError(build(-1, [])).problem).toMatch(/max_token_length = -1/);
    expect(loadError(build(4, [])).problem).toMatch(/no tokens after the header/);
  });

  it('tokenizer vocab must equal model vocab', () => {
    const config = parseLlama2c(readShared(STORIES260K), 'stories260K.bin').config;
    const files = { model: 'stories260K.bin', tokenizer: 'llama2-32000.bin' };
    expect(() => checkCompatible(config, llama, files)).toThrow(CompatibilityError);
    expect(() => checkCompatible(config, llama, files)).toThrow(
      'llama2-32000.bin: tokenizer has 32,000 tokens but model stories260K.bin has vocab_size 512; use the tokenizer the model was trained with',
    );
    expect(() => checkCompatible(config, tok, { ...files, tokenizer: 'tok512.bin' })).not.toThrow();
    expect(() =>
      loadLlama2c(
        createCpuBackend(),
        readShared(STORIES260K),
        'stories260K.bin',
        readShared(LLAMA2_TOKENIZER),
        'llama2-32000.bin',
      ),
    ).toThrow(/^llama2-32000.bin: tokenizer has 32,000 tokens but model stories260K.bin has vocab_size 512/);
  });
});
