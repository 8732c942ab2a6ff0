import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url } from '../../../app/notebook/base64url';
import { crc32 } from '../../../app/notebook/crc32';
import { inflateCapped, InflateLimitError } from '../../../app/notebook/inflate-capped';
import { NotebookError } from '../../../app/notebook/notebook-error';
import {
  decodeShareHash,
  encodeShareHash,
  hasShareHash,
  MAX_SHARE_HASH_CHARS,
  MAX_SHARE_JSON_BYTES,
} from '../../../app/notebook/share-link';
import { sampleNotebook } from './persistence-fixtures';

/** A checked link (`#nb=1.<crc>.<data>`) carrying arbitrary compressed bytes. */
function hashOfCompressed(compressed: Uint8Array): string {
  return `#nb=1.${crc32(compressed).toString(16).padStart(8, '0')}.${encodeBase64url(compressed)}`;
}
/** A checked link carrying arbitrary bytes as the deflated payload. */
function hashOfBytes(bytes: Uint8Array): string {
  return hashOfCompressed(deflateSync(bytes, { level: 9 }));
}
const hashOfJson = (value: unknown) => hashOfBytes(new TextEncoder().encode(JSON.stringify(value)));

function refusal(hash: string): string {
  try {
    decodeShareHash(hash);
  } catch (e) {
    expect(e).toBeInstanceOf(NotebookError);
    expect((e as NotebookError).source).toBe('link');
    return (e as NotebookError).message;
  }
  throw new Error('expected the link to be refused');
}

describe('base64url', () => {
  it('round-trips every length and byte value', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      const text = encodeBase64url(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(decodeBase64url(text)).toEqual(bytes);
    }
    expect(encodeBase64url(new Uint8Array([251, 255]))).toBe('-_8');
  });

  it('agrees with Node for a large buffer', () => {
    const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 7919) & 255);
    expect(encodeBase64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
  });

  it.each([['a+b'], ['ab/c'], ['abc='], ['a'], ['ab\u00e9'], ['ab c'], ['-_9']])('rejects %j', (text) => {
    expect(decodeBase64url(text)).toBeUndefined();
  });
});

describe('inflateCapped', () => {
  it('inflates data under the cap', () => {
    const data = new TextEncoder().encode('hello '.repeat(10_000));
    expect(inflateCapped(deflateSync(data), data.length)).toEqual(data);
  });

  it('stops a zip bomb soon after the cap', () => {
    const bomb = deflateSync(new Uint8Array(64 << 20), { level: 9 }); // 64 MB of zeros, ~64 KB deflated
    expect(bomb.length).toBeLessThan(MAX_SHARE_HASH_CHARS);
    let thrown: unknown;
    try {
      inflateCapped(bomb, 1 << 20);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InflateLimitError);
  });
});

describe('share links', () => {
  it('round-trips a notebook, including non-ASCII text', () => {
    const hash = encodeShareHash(sampleNotebook());
    expect(hash).toMatch(/^#nb=1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$/);
    expect(decodeShareHash(hash)).toEqual(sampleNotebook());
    expect(decodeShareHash(hash.slice(1))).toEqual(sampleNotebook());
  });

  it('encodes the same notebook to the same hash whatever its key order', () => {
    const doc = sampleNotebook();
    const reordered = {
      ...doc,
      cells: doc.cells.map((c) => ({ inputs: c.inputs, params: c.params, kind: c.kind, id: c.id })),
    };
    expect(encodeShareHash(reordered)).toBe(encodeShareHash(doc));
  });

  it('compresses: a long repetitive notebook makes a short link', () => {
    const doc = sampleNotebook();
    doc.cells[0]!.params.source = 'The attention head attends to the previous token. '.repeat(400);
    expect(encodeShareHash(doc).length).toBeLessThan(2000);
  });

  it('finds the notebook among other hash parameters', () => {
    const hash = encodeShareHash(sampleNotebook());
    expect(decodeShareHash(`#view=report&${hash.slice(1)}&x=1`)).toEqual(sampleNotebook());
    expect(hasShareHash(`#view=report&${hash.slice(1)}`)).toBe(true);
    expect(hasShareHash('#view=report')).toBe(false);
    expect(hasShareHash('')).toBe(false);
  });

  it('refuses to encode a notebook too large for a link', () => {
    const doc = sampleNotebook();
    // Random text barely compresses: ~1.5 MB of JSON gives a hash far over 256 KB.
    let seed = 12345;
    const nextChar = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; // seeded LCG
      return String.fromCharCode(33 + ((seed >>> 24) % 90));
    };
    const random = Array.from({ length: 1_500_000 }, nextChar).join('');
    doc.cells[0]!.params.source = random;
    expect(() => encodeShareHash(doc)).toThrow(/^link: would be too long/);
    doc.cells[0]!.params.source = 'x'.repeat(MAX_SHARE_JSON_BYTES);
    expect(() => encodeShareHash(doc)).toThrow(/^link: cannot hold this notebook/);
  });

  describe('refuses', () => {
    it('an empty hash', () => {
      expect(refusal('')).toBe('link: has no notebook in it (no "#nb=…" part)');
      expect(refusal('#')).toContain('has no notebook in it');
    });
    it('an unknown prefix', () => {
      expect(refusal('#state=abc')).toBe(
        'link: does not hold a notebook (expected "#nb=…", found "#state=abc")',
      );
    });
    it('an empty payload', () => {
      expect(refusal('#nb=')).toContain('empty notebook part');
    });
    it('invalid base64url', () => {
      expect(refusal('#nb=1.00000000.abc+def')).toBe(
        'link: is damaged (not valid base64url; was a character changed, lost or added when it was copied?)',
      );
    });
    it('a link from before checksums (bare DEFLATE), as damaged or older', () => {
      const old =
        '#nb=' + encodeBase64url(deflateSync(new TextEncoder().encode(JSON.stringify(sampleNotebook()))));
      expect(refusal(old)).toBe(
        'link: is damaged or was made by an older Sparsebook build (it has no checksum); ask for a new link',
      );
      expect(refusal('#nb=abc+def')).toContain('damaged or was made by an older Sparsebook build');
    });
    it('a malformed format or checksum field, or a newer format', () => {
      const hash = encodeShareHash(sampleNotebook());
      const [, sum, data] = hash.slice(4).split('.');
      expect(refusal(`#nb=1.${sum}${data}`)).toMatch(/^link: is damaged \(its parts are not/);
      expect(refusal(`#nb=x.${sum}.${data}`)).toMatch(/^link: is damaged \(its format field/);
      expect(refusal(`#nb=0.${sum}.${data}`)).toMatch(/^link: is damaged \(unknown link format 0;/);
      expect(refusal(`#nb=2.${sum}.${data}`)).toBe(
        'link: was made by a newer Sparsebook (link format 2; this build reads up to 1), or is damaged',
      );
      expect(refusal(`#nb=1.${sum!.toUpperCase()}X.${data}`)).toMatch(/checksum field is malformed/);
    });
    it('a hash longer than the limit, before decoding it', () => {
      expect(refusal('#nb=' + 'A'.repeat(MAX_SHARE_HASH_CHARS))).toBe(
        'link: is too long (257 KB; the limit is 256 KB)',
      );
    });
    it('data that is not DEFLATE', () => {
      expect(refusal(hashOfCompressed(new Uint8Array([0xff, 0xff, 0xff, 0xff])))).toMatch(
        /^link: is damaged \(could not decompress: .+\)$/,
      );
    });
    it('a truncated link', () => {
      const hash = encodeShareHash(sampleNotebook());
      // Cut to a length that is still valid base64url: the checksum catches it before DEFLATE.
      const data = hash.split('.')[2]!;
      const cut = hash.slice(0, hash.length - data.length + Math.floor(data.length / 2 / 4) * 4);
      expect(refusal(cut)).toBe(
        'link: is damaged (its checksum does not match; was a character changed, lost or added when it was copied?)',
      );
      // With a correct checksum over the cut data, DEFLATE itself sees the truncation.
      const full = deflateSync(new TextEncoder().encode(JSON.stringify(sampleNotebook())), { level: 9 });
      expect(refusal(hashOfCompressed(full.subarray(0, full.length >> 1)))).toMatch(
        /^link: is damaged \(could not decompress: unexpected EOF\)$/,
      );
    });
    it('a zip bomb (decompressed size over the limit)', () => {
      const hash = hashOfBytes(new Uint8Array(MAX_SHARE_JSON_BYTES + 1).fill(32));
      expect(hash.length).toBeLessThan(10_000);
      expect(refusal(hash)).toBe('link: decompresses to more than 2.0 MB; refused');
    });
    it('bytes that are not UTF-8', () => {
      expect(refusal(hashOfBytes(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d])))).toContain('not UTF-8 text');
    });
    it('JSON syntax errors, with a location', () => {
      expect(refusal(hashOfBytes(new TextEncoder().encode('{"format": }')))).toBe(
        'link: not valid JSON at line 1, column 12 (unexpected "}")',
      );
    });
    it('a future version', () => {
      expect(refusal(hashOfJson({ ...sampleNotebook(), version: 3 }))).toBe(
        'link: was written by a newer Sparsebook (version 3); this build reads up to 2',
      );
    });
    it('schema errors', () => {
      const doc = sampleNotebook();
      doc.cells[3]!.inputs = { model: 'ghost' };
      expect(refusal(hashOfJson(doc))).toBe(
        'link: cell 4 ("v1") input "model" refers to "ghost", which is not an earlier cell',
      );
    });
    it('unknown kinds when given the registry', () => {
      expect(() =>
        decodeShareHash(encodeShareHash(sampleNotebook()), { knownKinds: new Set(['markdown']) }),
      ).toThrow('link: cell 2 ("m1") has unknown kind "model"');
    });
  });

  it('opens a version-1 notebook carried by a link', () => {
    const v1 = {
      format: 'sparsebook-notebook',
      version: 1,
      title: 'Old link',
      cells: [{ id: 'a', type: 'markdown', source: 'hi', params: {}, dependsOn: [] }],
    };
    expect(decodeShareHash(hashOfJson(v1)).cells[0]).toEqual({
      id: 'a',
      kind: 'markdown',
      params: { source: 'hi' },
      inputs: {},
    });
  });
});
