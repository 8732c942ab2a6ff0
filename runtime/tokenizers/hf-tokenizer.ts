/**
 * Hugging Face tokenizers (`tokenizer.json` + `tokenizer_config.json`) through
 * `@huggingface/tokenizers` (pure JS, no native code or wasm): byte-level BPE (GPT-2, Pythia, Qwen,
 * Llama 3), SentencePiece-style BPE with byte fallback (Llama 2, Mistral, Gemma) and Unigram.
 *
 * This module adds what the runtime needs around the library: the document token, EOS and PAD read
 * from `tokenizer_config.json` and `config.json` (never hard-coded), encoding without the
 * tokenizer's own post-processing (only the document token is added), each token's bytes for
 * streaming and display, and clear errors naming the file.
 */
import { Tokenizer as LibTokenizer } from '@huggingface/tokenizers';
import { CompatibilityError, formatCount, TextError, TokenizerError } from '../errors';
import { firstInvalidUtf8 } from '../text';
import { findLoneSurrogate, type EncodeOptions, type Tokenizer } from './tokenizer';

type Bytes = ArrayBuffer | Uint8Array;
type JsonObject = Record<string, unknown>;

/** The files an `HfTokenizer` is read from (bytes or already decoded text). */
export interface HfTokenizerFiles<T> {
  /** `tokenizer.json`. */
  tokenizer: T;
  /** `tokenizer_config.json`, when the folder has one: bos/eos/pad tokens. */
  tokenizerConfig?: T;
  /** The model's `config.json`: `bos_token_id`, `eos_token_id`, `pad_token_id`. */
  config?: T;
}

export interface HfTokenizerOptions {
  /**
   * The model's embedding: an encoded text whose token lies at or past `rows` is an error naming
   * the token (special tokens the text does not produce may lie past it, as Gemma 3's image token).
   */
  embedding?: { rows: number; model: string };
}

/** How a token's string becomes bytes, read from tokenizer.json's decoder. */
type PieceMode =
  /** GPT-2's byte-to-unicode alphabet (decoder ByteLevel). */
  | { kind: 'byte-level' }
  /** SentencePiece-style: `▁` → space, `<0xNN>` → that byte when byte fallback is on. */
  | { kind: 'pieces'; replace: [string, string][]; byteFallback: boolean }
  /** Anything else: the library's decode of the lone token. */
  | { kind: 'text' };

const utf8 = new TextEncoder();

/** A tokenizer read from a Hugging Face `tokenizer.json`. */
export class HfTokenizer implements Tokenizer {
  readonly kind = 'hf';
  readonly vocabSize: number;
  /**
   * Ids of the tokenizer model's own text tokens are below this (special tokens excluded, even
   * where tokenizer.json lists them in the model's vocabulary too).
   */
  readonly baseVocabSize: number;
  readonly stopTokens: readonly number[];
  private readonly special: ReadonlySet<number>;
  /** Added tokens by id: their text is not in the byte-level alphabet nor a `<0xNN>` byte. */
  private readonly added: ReadonlyMap<number, string>;
  private readonly mode: PieceMode;
  /** The decoder drops the dummy-prefix space at the start (Llama 2's Strip, Metaspace). */
  private readonly stripsLeadingSpace: boolean;
  private readonly bytesCache: (Uint8Array | undefined)[] = [];

  private constructor(
    private readonly lib: LibTokenizer,
    readonly fileName: string,
    info: {
      vocabSize: number;
      baseVocabSize: number;
      added: Map<number, string>;
      special: Set<number>;
      mode: PieceMode;
      stripsLeadingSpace: boolean;
      eosIds: number[];
    },
    readonly documentToken: number,
    readonly bos: number | null,
    readonly eos: number | null,
    readonly pad: number | null,
    private readonly embedding: { rows: number; model: string } | undefined,
  ) {
    this.vocabSize = info.vocabSize;
    this.baseVocabSize = info.baseVocabSize;
    this.added = info.added;
    this.mode = info.mode;
    this.stripsLeadingSpace = info.stripsLeadingSpace;
    const special = new Set(info.special);
    for (const id of [documentToken, bos, eos, pad, ...info.eosIds]) if (id !== null) special.add(id);
    this.special = special;
    this.stopTokens = [...new Set([documentToken, ...info.eosIds])];
  }

  /**
   * Read a tokenizer from `tokenizer.json`, with `tokenizer_config.json` and the model's
   * `config.json` when given (`names` says what to call each in errors).
   *
   * The document token is `tokenizer_config.json`'s `bos_token` when it defines one, otherwise
   * `config.json`'s `bos_token_id`, and when config.json names no BOS (OLMoE) its EOS, which then
   * separates documents; EOS and PAD are read the same way (`eos_token`, else `eos_token_id`, …).
   *
   * @example
   * const tok = HfTokenizer.load(
   *   { tokenizer: tokJsonBytes, tokenizerConfig: tokConfigBytes, config: configBytes },
   *   { tokenizer: 'tokenizer.json', tokenizerConfig: 'tokenizer_config.json', config: 'config.json' },
   * );
   * tok.encode('Hello world'); // Llama 3: Int32Array [128000, 9906, 1917]
   * @throws TokenizerError naming the file that is not JSON, not a tokenizer, or names a token
   *   the vocabulary lacks; or when no document token is defined anywhere.
   */
  static load(
    files: HfTokenizerFiles<Bytes | string>,
    names: Partial<HfTokenizerFiles<string>> = {},
    options: HfTokenizerOptions = {},
  ): HfTokenizer {
    const tokName = names.tokenizer ?? 'tokenizer.json';
    const tcName = names.tokenizerConfig ?? 'tokenizer_config.json';
    const cfgName = names.config ?? 'config.json';
    const json = readJsonObject(files.tokenizer, tokName);
    const tc = files.tokenizerConfig === undefined ? null : readJsonObject(files.tokenizerConfig, tcName);
    const cfg = files.config === undefined ? null : readJsonObject(files.config, cfgName);

    const fail = (problem: string): never => {
      throw new TokenizerError(tokName, problem);
    };
    const model = json['model'];
    if (!isObject(model)) fail('not a Hugging Face tokenizer.json: it has no "model" object');
    const m = model as JsonObject;
    const vocab = m['vocab'];
    let vocabIds: number[] = [];
    if (Array.isArray(vocab)) vocabIds = Array.from(vocab, (_, i) => i);
    else if (isObject(vocab)) {
      for (const [piece, id] of Object.entries(vocab)) {
        if (!isTokenId(id)) {
          fail(
            `invalid vocabulary: ${short(piece)} has id ${short(id)}; expected an integer in [0, ${formatCount(MAX_TOKEN_IDS)})`,
          );
        }
        vocabIds.push(id as number);
      }
    } else fail(`invalid tokenizer model ${JSON.stringify(m['type'] ?? null)}: it has no "vocab"`);
    if (vocabIds.length === 0) fail('invalid tokenizer: the vocabulary is empty');
    if (m['type'] === 'BPE' && !Array.isArray(m['merges'])) fail('invalid BPE model: "merges" is not a list');

    const addedList = json['added_tokens'] ?? [];
    if (!Array.isArray(addedList)) fail('invalid tokenizer.json: "added_tokens" is not a list');
    const added = new Map<number, string>();
    const special = new Set<number>();
    let vocabSize = 0;
    for (const id of vocabIds) vocabSize = Math.max(vocabSize, id + 1);
    for (const [i, t] of (addedList as unknown[]).entries()) {
      if (!isObject(t) || !isTokenId(t['id']) || typeof t['content'] !== 'string') {
        fail(
          `invalid added_tokens[${i}]: expected {"id": integer in [0, ${formatCount(MAX_TOKEN_IDS)}), "content": string}`,
        );
      }
      const { id, content } = t as { id: number; content: string };
      added.set(id, content);
      if ((t as JsonObject)['special'] === true) special.add(id);
      vocabSize = Math.max(vocabSize, id + 1);
    }
    // The text vocabulary: the model's own tokens; special tokens listed there too do not count.
    let baseVocabSize = 0;
    for (const id of vocabIds) if (!special.has(id)) baseVocabSize = Math.max(baseVocabSize, id + 1);

    let lib: LibTokenizer;
    try {
      lib = new LibTokenizer({ ...json, added_tokens: addedList }, libConfig(tc));
    } catch (e) {
      return fail(`cannot read the tokenizer: ${(e as Error).message}`);
    }

    const idOf = (value: unknown, file: string, key: string): number | null => {
      if (value === null || value === undefined) return null;
      const text = tokenText(value);
      if (text === null) {
        throw new TokenizerError(
          file,
          `${key} must be a token string or {"content": …}, found ${short(value)}`,
        );
      }
      const id = lib.token_to_id(text);
      if (id === undefined)
        throw new TokenizerError(file, `${key} ${JSON.stringify(text)} is not a token of ${tokName}`);
      return id;
    };
    const configIds = (key: string): number[] => {
      const v = cfg?.[key];
      if (v === null || v === undefined) return [];
      const ids = Array.isArray(v) ? (v as unknown[]) : [v];
      for (const id of ids) {
        if (!isTokenId(id)) {
          throw new TokenizerError(
            cfgName,
            `${key} must be a token id (or a list of them), found ${short(v)}`,
          );
        }
        if ((id as number) >= vocabSize) {
          throw new TokenizerError(
            cfgName,
            `${key} ${formatCount(id as number)} is not a token of ${tokName} (${formatCount(vocabSize)} tokens); use the tokenizer the model was trained with`,
          );
        }
      }
      return ids as number[];
    };

    const bos = idOf(tc?.['bos_token'], tcName, 'bos_token');
    const cfgBos = configIds('bos_token_id');
    const tcEos = idOf(tc?.['eos_token'], tcName, 'eos_token');
    const cfgEos = configIds('eos_token_id');
    const eosIds = [...new Set([...(tcEos === null ? [] : [tcEos]), ...cfgEos])];
    // A config.json without BOS (OLMoE: bos_token_id null): documents are separated by the EOS
    // they end with. Without config.json nothing says so (Qwen's tokenizer alone names only EOS).
    const documentToken = bos ?? cfgBos[0] ?? (cfg ? (cfgEos[0] ?? tcEos) : null);
    if (documentToken === null) {
      const where = [
        tc ? `${tcName} has no bos_token` : `no ${tcName}`,
        cfg ? `${cfgName} has no bos_token_id nor eos_token_id` : `no ${cfgName}`,
      ];
      fail(`no document token: ${where.join(' and ')}, so nothing says which token starts a document`);
    }
    // Nothing here pads, so a PAD the vocabulary lacks (a stray pad_token_id: -1) is just absent.
    const lenient = (f: () => number | null | undefined) => {
      try {
        return f() ?? null;
      } catch {
        return null;
      }
    };
    const pad =
      lenient(() => idOf(tc?.['pad_token'], tcName, 'pad_token')) ??
      lenient(() => configIds('pad_token_id')[0]);

    const decoder = json['decoder'];
    return new HfTokenizer(
      lib,
      tokName,
      {
        vocabSize,
        baseVocabSize,
        added,
        special,
        mode: pieceMode(decoder),
        stripsLeadingSpace: stripsLeadingSpace(decoder),
        eosIds,
      },
      documentToken!,
      bos,
      eosIds[0] ?? null,
      pad,
      options.embedding,
    );
  }

  encode(text: string, options: EncodeOptions = {}): Int32Array {
    const { bos = true, eos = false, source = 'text' } = options;
    const lone = findLoneSurrogate(text);
    if (lone >= 0) {
      throw new TextError(
        source,
        `cannot encode: unpaired UTF-16 surrogate at character ${formatCount(lone)} (not valid Unicode)`,
      );
    }
    const encoded = text.length > 0 ? this.lib.encode(text, { add_special_tokens: false }) : null;
    const ids: number[] = bos ? [this.documentToken] : [];
    if (encoded) {
      encoded.ids.forEach((id, i) => {
        if (!isTokenId(id)) {
          throw new TokenizerError(
            this.fileName,
            `cannot encode ${JSON.stringify(encoded.tokens[i])} in ${source}: not in the vocabulary, and the tokenizer has no unknown token`,
          );
        }
        ids.push(id);
      });
    }
    if (eos) {
      if (this.eos === null)
        throw new TokenizerError(this.fileName, 'cannot append EOS: no eos token is defined');
      ids.push(this.eos);
    }
    const { embedding } = this;
    if (embedding) {
      const past = ids.find((id) => id >= embedding.rows);
      if (past !== undefined) {
        throw new CompatibilityError(
          this.fileName,
          `encoding ${source} gives the token ${JSON.stringify(this.piece(past))} (id ${formatCount(past)}), past the ${formatCount(embedding.rows)} embedding rows of ${embedding.model}; the model cannot read it`,
        );
      }
    }
    return Int32Array.from(ids);
  }

  decodeBytes(prev: number, token: number): Uint8Array {
    this.checkId(token);
    const bytes = this.tokenBytes(token);
    const strip = this.stripsLeadingSpace && prev === this.documentToken && !this.special.has(token);
    return strip && bytes[0] === 0x20 ? bytes.subarray(1) : bytes;
  }

  decode(prev: number, token: number): string {
    return new TextDecoder().decode(this.decodeBytes(prev, token));
  }

  /** The library's decode of the non-special tokens (no clean-up of spaces, so it inverts `encode`). */
  decodeAll(tokens: ArrayLike<number>): string {
    const ids: number[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      this.checkId(t);
      if (!this.special.has(t)) ids.push(t);
    }
    return ids.length === 0 ? '' : this.lib.decode(ids, { clean_up_tokenization_spaces: false });
  }

  piece(token: number): string {
    this.checkId(token);
    const content = this.special.has(token) ? this.added.get(token) : undefined;
    return content ?? displayText(this.tokenBytes(token));
  }

  isSpecial(token: number): boolean {
    return this.special.has(token);
  }

  /**
   * The token's bytes in running text (a dummy-prefix space kept), as the library's decoder writes
   * them: special tokens as their text; added tokens through the decoder's replacements (Gemma's
   * `▁▁`) but not the byte-level alphabet; vocabulary tokens through both.
   */
  private tokenBytes(token: number): Uint8Array {
    let bytes = this.bytesCache[token];
    if (bytes) return bytes;
    const content = this.added.get(token);
    const raw = content ?? this.lib.id_to_token(token);
    const libDecode = () => this.lib.decode([token], { clean_up_tokenization_spaces: false });
    if (raw === undefined) bytes = new Uint8Array(0);
    else if (content === undefined) bytes = pieceBytes(raw, this.mode, libDecode);
    else if (this.special.has(token) || this.mode.kind !== 'pieces') bytes = utf8.encode(content);
    else bytes = pieceBytes(content, { ...this.mode, byteFallback: false }, libDecode);
    this.bytesCache[token] = bytes;
    return bytes;
  }

  private checkId(token: number): void {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(
        `token id ${token} is outside the vocabulary [0, ${this.vocabSize}) of ${this.fileName}`,
      );
    }
  }
}

/** Parse a JSON file that must hold an object. */
function readJsonObject(data: Bytes | string, name: string): JsonObject {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    const u8 = data instanceof Uint8Array ? data : new Uint8Array(data);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(u8);
    } catch {
      throw new TokenizerError(
        name,
        `not UTF-8 text (invalid byte at offset ${formatCount(firstInvalidUtf8(u8))}); expected JSON`,
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(name, `invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(value)) {
    throw new TokenizerError(
      name,
      `expected a JSON object, found ${Array.isArray(value) ? 'a list' : short(value)}`,
    );
  }
  return value;
}

/** tokenizer_config.json as the library reads it: `{"content": …}` token entries as their strings. */
function libConfig(tc: JsonObject | null): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(tc ?? {})) {
    if (key.endsWith('_token') && isObject(value)) out[key] = tokenText(value);
    else if (key === 'additional_special_tokens' && Array.isArray(value)) {
      out[key] = (value as unknown[]).map(tokenText).filter((t): t is string => t !== null);
    } else out[key] = value;
  }
  return out;
}

/** A token named in tokenizer_config.json: a string, or an AddedToken object `{"content": …}`. */
function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value['content'] === 'string') return value['content'];
  return null;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Token ids are below this: beyond any real vocabulary (the largest have 262,144 tokens), and so
 * within what the Int32Array of an encoding holds exactly.
 */
const MAX_TOKEN_IDS = 1 << 24;

function isTokenId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < MAX_TOKEN_IDS;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The decoder's steps, a Sequence flattened. */
function decoderSteps(decoder: unknown): JsonObject[] {
  if (!isObject(decoder)) return [];
  if (decoder['type'] === 'Sequence' && Array.isArray(decoder['decoders'])) {
    return (decoder['decoders'] as unknown[]).flatMap(decoderSteps);
  }
  return [decoder];
}

function pieceMode(decoder: unknown): PieceMode {
  const steps = decoderSteps(decoder);
  if (steps.some((s) => s['type'] === 'ByteLevel')) return { kind: 'byte-level' };
  const replace: [string, string][] = [];
  let byteFallback = false;
  for (const s of steps) {
    if (s['type'] === 'ByteFallback') byteFallback = true;
    else if (s['type'] === 'Metaspace') {
      replace.push([typeof s['replacement'] === 'string' ? s['replacement'] : '\u2581', ' ']);
    } else if (s['type'] === 'Replace') {
      const pattern = s['pattern'];
      const from = isObject(pattern) ? pattern['String'] : undefined;
      if (typeof from !== 'string' || typeof s['content'] !== 'string') return { kind: 'text' };
      replace.push([from, s['content']]);
    } else if (s['type'] !== 'Fuse' && s['type'] !== 'Strip') return { kind: 'text' };
  }
  return steps.length > 0 ? { kind: 'pieces', replace, byteFallback } : { kind: 'text' };
}

/** Whether decoding drops the space the normalizer put before the text (SentencePiece's dummy prefix). */
function stripsLeadingSpace(decoder: unknown): boolean {
  return decoderSteps(decoder).some(
    (s) =>
      (s['type'] === 'Strip' && s['content'] === ' ' && typeof s['start'] === 'number' && s['start'] > 0) ||
      (s['type'] === 'Metaspace' && s['prepend_scheme'] !== 'never' && s['add_prefix_space'] !== false),
  );
}

/** GPT-2's byte-level alphabet, character → byte. */
const BYTE_OF_CHAR: ReadonlyMap<string, number> = (() => {
  const direct: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) direct.push(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.push(b);
  for (let b = 0xae; b <= 0xff; b++) direct.push(b);
  const map = new Map<string, number>(direct.map((b) => [String.fromCharCode(b), b]));
  const isDirect = new Set(direct);
  let n = 0;
  for (let b = 0; b < 256; b++) if (!isDirect.has(b)) map.set(String.fromCharCode(256 + n++), b);
  return map;
})();

/** Bytes of a vocabulary token in running text. */
function pieceBytes(token: string, mode: PieceMode, libDecode: () => string): Uint8Array {
  if (mode.kind === 'byte-level') {
    const out: number[] = [];
    for (const ch of token) {
      const b = BYTE_OF_CHAR.get(ch);
      if (b !== undefined) out.push(b);
      else out.push(...utf8.encode(ch));
    }
    return Uint8Array.from(out);
  }
  if (mode.kind === 'pieces') {
    const byte = mode.byteFallback ? /^<0x([0-9A-Fa-f]{2})>$/.exec(token) : null;
    if (byte) return Uint8Array.of(parseInt(byte[1]!, 16));
    let text = token;
    for (const [from, to] of mode.replace) text = text.replaceAll(from, to);
    return utf8.encode(text);
  }
  return utf8.encode(libDecode());
}

/** Bytes as text, each byte of an incomplete or invalid UTF-8 sequence shown as `<0xNN>`. */
function displayText(bytes: Uint8Array): string {
  let out = '';
  let rest = bytes;
  for (;;) {
    const bad = firstInvalidUtf8(rest);
    if (bad < 0) return out + new TextDecoder().decode(rest);
    out += new TextDecoder().decode(rest.subarray(0, bad));
    out += `<0x${rest[bad]!.toString(16).toUpperCase().padStart(2, '0')}>`;
    rest = rest.subarray(bad + 1);
  }
}
