/**
 * Replays test/fuzz/corpus: inputs that crashed a parser, were silently accepted, hung or blew up
 * memory before the reliability fixes (found by test/fuzz/measure-parsers.ts on the code before
 * them; each file's `before` says how). Each must now give its recorded outcome: the recorded clear
 * refusal, or an accepted value that is sound.
 *
 * A file holds one input: `text` (a notebook file), `hash` (a share link as it was), `notebook` (a
 * notebook's JSON, replayed in a checksummed link), `packed` (report bytes as they were, base64url),
 * `raw` (report bytes before packing: replayed as they were packed then, bare DEFLATE, and framed
 * as this build frames a report) or `packedDeflated` (packed report bytes, deflated again to keep
 * the file small).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, inflateSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64url } from '../../app/notebook/base64url';
import { parseNotebookFile } from '../../app/notebook/notebook-file';
import { decodeShareHash } from '../../app/notebook/share-link';
import { decodeReport } from '../../app/report/report-data';
import { craftFrame } from './inputs';
import {
  attempt,
  checkedLink,
  expectSoundNotebook,
  expectSoundReport,
  OPTS,
  reframeRaw,
  splitRaw,
} from './oracles';
import { RssPeak } from './rss-peak';

interface Entry {
  before: string;
  text?: string;
  hash?: string;
  notebook?: string;
  packed?: string;
  raw?: string;
  packedDeflated?: string;
  expect: { outcome: 'refused'; message: string } | { outcome: 'accepted' };
}

const DIR = path.join(import.meta.dirname, 'corpus');
/** The parsers replayed here; the model-file parsers' directories are corpus-models.test.ts's. */
const PARSERS = ['notebook-file', 'report', 'share-link'];
const entries = PARSERS.flatMap((parser) =>
  readdirSync(path.join(DIR, parser))
    .sort()
    .map((file) => ({
      name: `${parser}/${file}`,
      entry: JSON.parse(readFileSync(path.join(DIR, parser, file), 'utf8')) as Entry,
    })),
);

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const bytes = (b64: string) => decodeBase64url(b64)!;

/** The entry's recorded outcome for `parse` (refusals are also checked to be clear). */
function replay<T>(e: Entry, source: string | RegExp, parse: () => T, sound: (value: T) => void): void {
  const out = attempt(rss, source, parse);
  if (e.expect.outcome === 'refused') {
    expect('error' in out && out.error.message).toBe(e.expect.message);
  } else {
    expect('value' in out, 'accepted').toBe(true);
    if ('value' in out) sound(out.value);
  }
}

describe('fuzz corpus', () => {
  it('holds inputs for every parser', () => {
    const parsers = new Set(entries.map((e) => e.name.split('/')[0]));
    expect([...parsers].sort()).toEqual(['notebook-file', 'report', 'share-link']);
    expect(entries.length).toBeGreaterThan(20);
  });

  it.each(entries)('$name', ({ entry: e }) => {
    if (e.text !== undefined) {
      replay(
        e,
        /\.json$/,
        () => parseNotebookFile(e.text!, 'corpus.sparsebook.json', OPTS),
        (doc) => expectSoundNotebook(JSON.parse(e.text!), doc),
      );
    } else if (e.hash !== undefined) {
      replay(
        e,
        'link',
        () => decodeShareHash(e.hash!, OPTS),
        (doc) => expectSoundNotebook(undefined, doc),
      );
    } else if (e.notebook !== undefined) {
      replay(
        e,
        'link',
        () => decodeShareHash(checkedLink(e.notebook!), OPTS),
        (doc) => expectSoundNotebook(JSON.parse(e.notebook!), doc),
      );
    } else if (e.packed !== undefined) {
      replay(
        e,
        'report',
        () => decodeReport(bytes(e.packed!), OPTS),
        (data) => expectSoundReport(data),
      );
    } else if (e.raw !== undefined) {
      const raw = bytes(e.raw);
      // As it was packed before the fixes (bare DEFLATE): refused as damaged or older.
      const old = attempt(rss, 'report', () => decodeReport(deflateSync(raw), OPTS));
      expect('error' in old && old.error.message).toMatch(/damaged or was made by an older Sparsebook build/);
      replay(
        e,
        'report',
        () => decodeReport(reframeRaw(raw), OPTS),
        (data) => expectSoundReport(data, splitRaw(raw).header),
      );
    } else if (e.packedDeflated !== undefined) {
      const packed = inflateSync(bytes(e.packedDeflated));
      replay(
        e,
        'report',
        () => decodeReport(packed, OPTS),
        (data) => expectSoundReport(data),
      );
      // The same DEFLATE data in a frame with a correct checksum, declaring its full size.
      const framed = attempt(rss, 'report', () => decodeReport(craftFrame(packed, 500_000_000), OPTS));
      expect('error' in framed && framed.error.message).toMatch(/expansion; refused$/);
    } else {
      throw new Error('corpus entry with no input');
    }
  });
});
