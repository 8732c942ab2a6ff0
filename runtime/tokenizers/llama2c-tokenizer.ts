/**
 * The llama2.c tokenizer (`tokenizer.bin`, `tok512.bin`): a sentencepiece BPE vocabulary exported
 * as int32 max_token_length, then per token float32 score, int32 byte length, bytes. The file does
 * not store the vocabulary size (run.c takes it from the model), so it is the number of entries.
 * `encode` and `decodeBytes` follow run.c `encode` / `decode` exactly.
 */
import { formatCount, TextError, TokenizerError } from '../errors';
import { mergePairs, type MergeVocab } from './bpe-merge';
import { findLoneSurrogate, type EncodeOptions, type Tokenizer } from './tokenizer';

export type { EncodeOptions } from './tokenizer';

/** llama2.c's BOS: its document token (run.c starts every prompt with it and stops at it). */
export const BOS = 1;
export const EOS = 2;

/** A loaded llama2.c tokenizer; `encode` defaults are run.c's for a prompt (BOS, no EOS). */
export class Llama2cTokenizer implements Tokenizer {
  readonly kind = 'llama2c';
  readonly vocabSize: number;
  readonly documentToken = BOS;
  readonly bos = BOS;
  readonly eos = EOS;
  readonly pad = null;
  /** run.c stops generating at BOS (the start of the next story), not at EOS. */
  readonly stopTokens: readonly number[] = [BOS];
  private readonly vocab: MergeVocab;
  /** Byte value of `<0xNN>` pieces, -1 for others. */
  private readonly byteOf: Int16Array;
  private readonly hasByteFallback: boolean;

  private constructor(
    readonly fileName: string,
    readonly maxTokenLength: number,
    /** Raw bytes of each piece; a leading space stands for sentencepiece's "▁". */
    readonly pieces: readonly Uint8Array[],
    readonly scores: Float32Array,
  ) {
    this.vocabSize = pieces.length;
    const keys = pieces.map(binaryString);
    const lookup = new Map<string, number>();
    // run.c binary-searches a sorted copy; on duplicate pieces (none in real files) keep the first.
    keys.forEach((k, i) => lookup.has(k) || lookup.set(k, i));
    this.vocab = { keys, lookup, scores };
    this.byteOf = new Int16Array(pieces.length).fill(-1);
    keys.forEach((k, i) => {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(k);
      if (m) this.byteOf[i] = parseInt(m[1]!, 16);
    });
    // Encoding falls back to id = byte + 3, which only means something if those are byte pieces.
    this.hasByteFallback =
      pieces.length >= 259 && Array.from({ length: 256 }, (_, b) => this.byteOf[b + 3] === b).every(Boolean);
  }

  /**
   * Parse a tokenizer file.
   * @throws TokenizerError naming `fileName` for a truncated file, negative or oversize lengths,
   *   a non-finite score, or fewer than 3 tokens (BOS and EOS are ids 1 and 2).
   */
  static load(bytes: ArrayBuffer | Uint8Array, fileName: string): Llama2cTokenizer {
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    const fail = (problem: string): never => {
      throw new TokenizerError(fileName, problem);
    };
    if (u8.byteLength < 4) fail(`truncated tokenizer: ${u8.byteLength} bytes, fewer than the 4-byte header`);
    const maxTokenLength = view.getInt32(0, true);
    if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
      fail(
        `invalid tokenizer header: max_token_length = ${maxTokenLength}; is this a llama2.c tokenizer file?`,
      );
    }
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let off = 4;
    while (off < u8.byteLength) {
      const i = pieces.length;
      if (off + 8 > u8.byteLength) {
        fail(
          `truncated tokenizer: token ${formatCount(i)} starts at byte ${formatCount(off)} but the file ends ${u8.byteLength - off} bytes later, inside its score/length`,
        );
      }
      const score = view.getFloat32(off, true);
      const len = view.getInt32(off + 4, true);
      if (!Number.isFinite(score))
        fail(`invalid tokenizer: token ${formatCount(i)} has a non-finite score (${score})`);
      if (len < 0) fail(`invalid tokenizer: token ${formatCount(i)} has negative length ${len}`);
      if (len > maxTokenLength) {
        fail(
          `invalid tokenizer: token ${formatCount(i)} has length ${formatCount(len)}, more than max_token_length ${maxTokenLength}`,
        );
      }
      off += 8;
      if (off + len > u8.byteLength) {
        fail(
          `truncated tokenizer: token ${formatCount(i)} declares ${len} bytes but only ${u8.byteLength - off} remain`,
        );
      }
      pieces.push(u8.slice(off, off + len));
      scores.push(score);
      off += len;
    }
    if (pieces.length === 0) fail('invalid tokenizer: no tokens after the header');
    // run.c's BOS (1) and EOS (2) are token ids: a vocabulary without them cannot start a text.
    if (pieces.length <= EOS) {
      fail(
        `invalid tokenizer: only ${pieces.length} token${pieces.length === 1 ? '' : 's'}; a llama2.c vocabulary has at least 3 (<unk>, BOS = 1, EOS = 2)`,
      );
    }
    return new Llama2cTokenizer(fileName, maxTokenLength, pieces, Float32Array.from(scores));
  }

  /**
   * Encode text as run.c does: [BOS], dummy-prefix " " (non-empty text), UTF-8 code points looked
   * up whole or as byte tokens (byte + 3), then best-score pair merges.
   *
   * @example
   * tok.encode('Hello world'); // llama2-32000.bin: Int32Array [1, 15043, 3186]
   */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    const { bos = true, eos = false, source = 'text' } = options;
    const lone = findLoneSurrogate(text);
    if (lone >= 0) {
      throw new TextError(
        source,
        `cannot encode: unpaired UTF-16 surrogate at character ${formatCount(lone)} (not valid Unicode)`,
      );
    }
    const bytes = new TextEncoder().encode(text);
    const ids: number[] = [];
    if (bos) ids.push(BOS);
    if (bytes.length > 0) {
      const space = this.vocab.lookup.get(' ');
      if (space === undefined)
        throw new TokenizerError(this.fileName, 'the vocabulary has no " " piece for the dummy prefix');
      ids.push(space);
    }
    // Group bytes into UTF-8 code points the way run.c does (a lead byte, then ≤3 continuations).
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i]! & 0xc0) !== 0x80) start = i;
      const len = i - start + 1;
      if (i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && len < 4) continue;
      const chunk = bytes.subarray(start, i + 1);
      const id = this.vocab.lookup.get(binaryString(chunk));
      if (id !== undefined) ids.push(id);
      else {
        if (!this.hasByteFallback) {
          throw new TokenizerError(
            this.fileName,
            `cannot encode ${JSON.stringify(new TextDecoder().decode(chunk))}: not in the vocabulary and no <0xNN> byte pieces to fall back on`,
          );
        }
        for (const b of chunk) ids.push(b + 3);
      }
      start = i + 1;
    }
    const merged = mergePairs(ids, this.vocab);
    if (eos) merged.push(EOS);
    return Int32Array.from(merged);
  }

  /**
   * Bytes printed for `token` after `prev`, as run.c `decode`: after BOS a leading space is
   * dropped; `<0xNN>` pieces give the raw byte.
   */
  decodeBytes(prev: number, token: number): Uint8Array {
    this.checkId(token);
    const b = this.byteOf[token]!;
    if (b >= 0) return Uint8Array.of(b);
    const piece = this.pieces[token]!;
    return prev === BOS && piece[0] === 0x20 ? piece.subarray(1) : piece;
  }

  /**
   * `decodeBytes` as text. A lone byte token of a multi-byte character decodes to U+FFFD here;
   * use `decodeAll` (or a streaming TextDecoder over `decodeBytes`) to assemble such characters.
   */
  decode(prev: number, token: number): string {
    return new TextDecoder().decode(this.decodeBytes(prev, token));
  }

  /**
   * Decode a token sequence to text: concatenate each token's bytes (prev = the token before,
   * BOS for the first so the dummy-prefix space goes) and decode UTF-8 once. BOS/EOS print nothing.
   * Inverse of `encode` for any valid text.
   */
  decodeAll(tokens: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let prev = BOS;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t !== BOS && t !== EOS) parts.push(this.decodeBytes(prev, t));
      prev = t;
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return new TextDecoder().decode(out);
  }

  /** The piece of a token as text (for display; `<0xNN>` pieces are shown as such). */
  piece(token: number): string {
    this.checkId(token);
    return new TextDecoder().decode(this.pieces[token]);
  }

  /** BOS and EOS; every other piece is text. */
  isSpecial(token: number): boolean {
    return token === BOS || token === EOS;
  }

  private checkId(token: number): void {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(
        `token id ${token} is outside the vocabulary [0, ${this.vocabSize}) of ${this.fileName}`,
      );
    }
  }
}

/** One char per byte, so Map lookups compare bytes exactly like C's strcmp. */
function binaryString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}
