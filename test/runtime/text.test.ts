import { describe, expect, it } from 'vitest';
import { TextError } from '../../runtime/errors';
import {
  buildTokenStream,
  decodeUtf8Strict,
  firstInvalidUtf8,
  NOTE_SINGLE_DOCUMENT,
  splitDocuments,
} from '../../runtime/text';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import { readShared, TOK512 } from '../helpers/shared-paths';

const tok = Llama2cTokenizer.load(readShared(TOK512), 'tok512.bin');

function textError(fn: () => unknown): TextError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TextError);
    return e as TextError;
  }
  throw new Error('expected a TextError');
}

describe('splitDocuments', () => {
  it('splits on <|endoftext|>, trims, drops empty documents', () => {
    const r = splitDocuments('  One.\n<|endoftext|>\n\n<|endoftext|> Two. <|endoftext|>\n');
    expect(r.documents).toEqual(['One.', 'Two.']);
    expect(r.notes).toEqual(['2 empty documents between separators dropped']);
  });

  it('a text without separator is one document, with a note saying so', () => {
    const r = splitDocuments('  Just one story.\n\nWith two paragraphs.  ');
    expect(r.documents).toEqual(['Just one story.\n\nWith two paragraphs.']);
    expect(r.notes).toEqual([NOTE_SINGLE_DOCUMENT]);
    expect(NOTE_SINGLE_DOCUMENT).toBe('no <|endoftext|> separator: treated as one document');
  });

  it('empty or whitespace-only text is an error naming the source', () => {
    expect(textError(() => splitDocuments('', 'notes.txt')).message).toBe(
      'notes.txt: empty text: the text is empty; nothing to evaluate',
    );
    expect(textError(() => splitDocuments(' \n\t<|endoftext|>  \n', 'blank.txt')).message).toBe(
      'blank.txt: empty text: the text has no content besides whitespace and separators; nothing to evaluate',
    );
  });
});

describe('buildTokenStream', () => {
  it('encodes each document as BOS + tokens and concatenates', () => {
    const s = buildTokenStream(tok, 'Once upon a time<|endoftext|>The end.', 'two.txt');
    const a = Array.from(tok.encode('Once upon a time'));
    const b = Array.from(tok.encode('The end.'));
    expect(Array.from(s.tokens)).toEqual([...a, ...b]);
    expect(s.documentStarts).toEqual([0, a.length]);
    expect(s.tokens[0]).toBe(1);
    expect(s.tokens[a.length]).toBe(1);
    expect(s.notes).toEqual([]);
  });
});

describe('decodeUtf8Strict', () => {
  it('decodes valid UTF-8 (and drops a BOM)', () => {
    const bytes = new TextEncoder().encode('\ufeffhé 日本 😀');
    expect(decodeUtf8Strict(bytes, 'ok.txt')).toBe('hé 日本 😀');
  });

  it('names the file and the byte offset of invalid UTF-8', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('Once upon'), 0xff, 0x41, 0x42]);
    const e = textError(() => decodeUtf8Strict(bytes, 'latin1.txt'));
    expect(e.file).toBe('latin1.txt');
    expect(e.message).toBe(
      'latin1.txt: invalid UTF-8 at byte 9 (bytes ff 41 42); the file must be UTF-8 text',
    );
  });

  it('finds truncated sequences, overlongs, surrogates', () => {
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0xe6, 0x97]))).toBe(1); // cut 3-byte sequence
    expect(firstInvalidUtf8(new Uint8Array([0xc0, 0x80]))).toBe(0); // overlong NUL
    expect(firstInvalidUtf8(new Uint8Array([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // UTF-16 surrogate
    expect(firstInvalidUtf8(new Uint8Array([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // > U+10FFFF
    expect(firstInvalidUtf8(new TextEncoder().encode('fine ✓ 😀'))).toBe(-1);
    // Agrees with the WHATWG decoder on every 2-byte sequence.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const disagreements: string[] = [];
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const bytes = new Uint8Array([a, b]);
        let valid = true;
        try {
          decoder.decode(bytes);
        } catch {
          valid = false;
        }
        if ((firstInvalidUtf8(bytes) === -1) !== valid) disagreements.push(`${a},${b}`);
      }
    }
    expect(disagreements).toEqual([]);
  });
});
