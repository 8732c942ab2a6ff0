/**
 * Text input: strict UTF-8 decoding of text files and the document split used by loss
 * evaluation (ARCHITECTURE.md "Loss over a text").
 */
import { formatCount, TextError } from './errors';
import type { Tokenizer } from './tokenizers/tokenizer';

/** Separator between documents in TinyStories-style corpora. */
export const END_OF_TEXT = '<|endoftext|>';

/** Note attached when a text has no separator (UIs show it next to the result). */
export const NOTE_SINGLE_DOCUMENT = `no ${END_OF_TEXT} separator: treated as one document`;

/**
 * Decode a text file's bytes as UTF-8, refusing invalid sequences (a binary or Latin-1 file would
 * otherwise turn into U+FFFD soup and a meaningless loss). A leading byte-order mark is dropped.
 * @throws TextError naming `fileName` and the byte offset of the first invalid sequence.
 */
export function decodeUtf8Strict(bytes: ArrayBuffer | Uint8Array, fileName: string): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(u8);
  } catch {
    const at = firstInvalidUtf8(u8);
    const shown = Array.from(u8.subarray(at, at + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new TextError(
      fileName,
      `invalid UTF-8 at byte ${formatCount(at)} (bytes ${shown}); the file must be UTF-8 text`,
    );
  }
}

/**
 * Offset of the first byte that starts an invalid UTF-8 sequence, or -1 when valid. Follows the
 * WHATWG decoder's rules: no overlongs, no surrogates, nothing above U+10FFFF.
 */
export function firstInvalidUtf8(u8: Uint8Array): number {
  let i = 0;
  while (i < u8.length) {
    const b = u8[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = u8[i + k];
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (c === undefined || c < min || c > max) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Documents of a text plus notes worth showing to the user. */
export interface SplitText {
  documents: string[];
  notes: string[];
}

/**
 * Split on `<|endoftext|>`, trim each document, drop empty ones. A text without separator is one
 * document (with a note saying so).
 * @throws TextError naming `fileName` when nothing but whitespace (and separators) remains.
 */
export function splitDocuments(text: string, fileName = 'text'): SplitText {
  const parts = text.split(END_OF_TEXT);
  const documents = parts.map((p) => p.trim()).filter((p) => p.length > 0);
  if (documents.length === 0) {
    const what =
      text.length === 0 ? 'the text is empty' : 'the text has no content besides whitespace and separators';
    throw new TextError(fileName, `empty text: ${what}; nothing to evaluate`);
  }
  const notes: string[] = [];
  if (parts.length === 1) notes.push(NOTE_SINGLE_DOCUMENT);
  const dropped = parts.length - documents.length;
  if (parts.length > 1 && dropped > 0) {
    notes.push(
      `${formatCount(dropped)} empty document${dropped === 1 ? '' : 's'} between separators dropped`,
    );
  }
  return { documents, notes };
}

/** One token stream made of all documents, each as its document token (BOS) + tokens. */
export interface TokenStream {
  tokens: Int32Array;
  /** Index in `tokens` where each document's document token sits. */
  documentStarts: number[];
  notes: string[];
}

/**
 * Split, encode (the tokenizer's document token + tokens per document: llama2.c and Llama/Gemma
 * BOS, else config.json's bos_token_id, else its EOS; no other special tokens) and concatenate.
 */
export function buildTokenStream(tokenizer: Tokenizer, text: string, fileName = 'text'): TokenStream {
  const { documents, notes } = splitDocuments(text, fileName);
  const encoded = documents.map((d) => tokenizer.encode(d, { bos: true, source: fileName }));
  const tokens = new Int32Array(encoded.reduce((n, e) => n + e.length, 0));
  const documentStarts: number[] = [];
  let o = 0;
  for (const e of encoded) {
    documentStarts.push(o);
    tokens.set(e, o);
    o += e.length;
  }
  return { tokens, documentStarts, notes };
}
