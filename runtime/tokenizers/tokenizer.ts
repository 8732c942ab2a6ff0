/**
 * What the runtime, analyses, workers, app and CLI need from a tokenizer, implemented by the
 * llama2.c tokenizer (`tokenizer.bin`) and by Hugging Face `tokenizer.json` (`HfTokenizer`).
 *
 * The document token is the one token put before each document (ARCHITECTURE.md "Loss over a
 * text") and before a prompt: the tokenizer's BOS when it defines one (llama2.c, Llama, Gemma),
 * otherwise `config.json`'s `bos_token_id` (GPT-2, Pythia, Qwen: `<|endoftext|>`), and when
 * config.json names no BOS either its EOS (OLMoE, bos_token_id null: `<|endoftext|>`). No other
 * special tokens are added.
 */

/** Options of `encode`. */
export interface EncodeOptions {
  /** Put the document token first (default true, as run.c does for a prompt). */
  bos?: boolean;
  /** Put the EOS token last (default false). */
  eos?: boolean;
  /** Name of the text's source, used in error messages (default "text"). */
  source?: string;
}

/** A loaded tokenizer. */
export interface Tokenizer {
  /** `llama2c` for a `tokenizer.bin`, `hf` for a `tokenizer.json`. */
  readonly kind: 'llama2c' | 'hf';
  /** Name of the file it was read from (errors name it). */
  readonly fileName: string;
  /** Highest token id + 1, added and special tokens included. */
  readonly vocabSize: number;
  /** The token that starts every document and prompt (see the module comment). */
  readonly documentToken: number;
  /** The tokenizer's own BOS, or null when it defines none. */
  readonly bos: number | null;
  /** End of sequence, or null when neither the tokenizer nor config.json defines one. */
  readonly eos: number | null;
  /** Padding, or null when none is defined. */
  readonly pad: number | null;
  /** Tokens at which generation stops (the document token and EOS ids; llama2.c: BOS only, as run.c). */
  readonly stopTokens: readonly number[];
  /**
   * Encode text: [document token] + the text's tokens [+ EOS]. No other special tokens are added;
   * special-token text written in the input (`<|im_start|>`) is read as that token.
   * @throws TextError for text that is not valid Unicode, TokenizerError for text it cannot
   *   encode, CompatibilityError when a token lies outside the model's embedding.
   */
  encode(text: string, options?: EncodeOptions): Int32Array;
  /**
   * Bytes printed for `token` after `prev` (a leading dummy-prefix space is dropped after the
   * document token); a byte token gives its raw byte, so a streaming TextDecoder assembles
   * multi-byte characters.
   */
  decodeBytes(prev: number, token: number): Uint8Array;
  /** `decodeBytes` as text (a lone byte of a multi-byte character becomes U+FFFD). */
  decode(prev: number, token: number): string;
  /** Text of a token sequence, special tokens left out. Inverse of `encode` for valid text. */
  decodeAll(tokens: ArrayLike<number>): string;
  /** A token's text for display (special tokens as written, undecodable bytes as `<0xNN>`). */
  piece(token: number): string;
  /** Whether `token` is a special token (BOS, EOS, `<|endoftext|>`, …) rather than text. */
  isSpecial(token: number): boolean;
}

/** Index of the first unpaired UTF-16 surrogate in `s`, or -1 (TextEncoder would write U+FFFD). */
export function findLoneSurrogate(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

/**
 * A token's piece for display, or `<id N>` for an embedding row past the tokenizer's vocabulary
 * (padding rows such as Qwen's up to 151,936 have no text).
 */
export function tokenPiece(tokenizer: Pick<Tokenizer, 'vocabSize' | 'piece'>, id: number): string {
  return id >= 0 && id < tokenizer.vocabSize ? tokenizer.piece(id) : `<id ${id}>`;
}
