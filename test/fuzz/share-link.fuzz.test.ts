/**
 * Share-link parser fuzz (seeded, bounded): one-character edits of a real link, hostile notebooks
 * in correctly checksummed links, and arbitrary hash text. Every input is refused with a clear
 * NotebookError (source `link`) or decodes to exactly the notebook it carries.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../app/notebook/canonical-json';
import { decodeShareHash, encodeShareHash } from '../../app/notebook/share-link';
import { sampleNotebook } from '../app/notebook/persistence-fixtures';
import { applyEdit, editArb, FUZZ_SEED, hostileNotebookArb, LINK_CHARS } from './inputs';
import { attempt, checkedLink, expectSoundNotebook, OPTS } from './oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const decode = (hash: string) => attempt(rss, 'link', () => decodeShareHash(hash, OPTS));

describe('share link fuzz', () => {
  it('refuses every one-character edit of a real link clearly, or decodes it to exactly the original', () => {
    const original = sampleNotebook();
    original.cells[0]!.params.source = '# Notes\n' + 'Heads attend to the previous token. '.repeat(20);
    const link = encodeShareHash(original);
    const edits = fc.sample(editArb(LINK_CHARS), { seed: FUZZ_SEED, numRuns: 1000 });
    let refused = 0;
    let same = 0;
    for (const e of edits) {
      const out = decode(applyEdit(link, e));
      if ('error' in out) refused++;
      else {
        expect(canonicalJson(out.value)).toBe(canonicalJson(original));
        same++;
      }
    }
    expect(refused + same).toBe(1000);
    expect(refused).toBeGreaterThan(900);
  });

  it('refuses every single-character replacement in the data and checksum, at every position', () => {
    const link = encodeShareHash(sampleNotebook());
    const from = link.indexOf('.') + 1;
    for (let i = from; i < link.length; i++) {
      const ch = link[i] === 'A' ? 'B' : 'A';
      const out = decode(link.slice(0, i) + ch + link.slice(i + 1));
      expect('error' in out, `replacing character ${i}`).toBe(true);
    }
  });

  it('refuses hostile notebooks in checksummed links clearly, or opens them faithfully', () => {
    fc.assert(
      fc.property(hostileNotebookArb(), (value) => {
        const out = decode(checkedLink(JSON.stringify(value) ?? 'null'));
        if ('value' in out) expectSoundNotebook(value, out.value);
      }),
      { seed: FUZZ_SEED, numRuns: 300, interruptAfterTimeLimit: 4000 },
    );
  });

  it('refuses arbitrary hash text clearly', () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(...LINK_CHARS), maxLength: 300 }).map((s) => '#nb=' + s),
      fc.string({ unit: fc.constantFrom(...LINK_CHARS), maxLength: 300 }).map((s) => '#nb=1.' + s),
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((b) => checkedLink(new TextDecoder().decode(b))),
    );
    fc.assert(
      fc.property(text, (hash) => {
        const out = decode(hash);
        if ('value' in out) expectSoundNotebook(undefined, out.value);
      }),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses a zip bomb in a checksummed link before it grows memory', () => {
    const out = decode(checkedLink(' '.repeat(8 << 20)));
    expect('error' in out && out.error.message).toBe('link: decompresses to more than 2.0 MB; refused');
  });
});
