/**
 * Notebook-file (.sparsebook.json) parser fuzz (seeded, bounded): one-character edits of a real
 * file, hostile documents (ids and roles named after Object.prototype, odd versions, deep params,
 * wrong types), arbitrary JSON and text, and oversized input. Every input is refused with a clear
 * NotebookError naming the file, or opens to a notebook that says what the file says and saves
 * back to itself.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../app/notebook/canonical-json';
import { parseNotebookFile, serializeNotebook } from '../../app/notebook/notebook-file';
import { sampleNotebook } from '../app/notebook/persistence-fixtures';
import {
  applyEdit,
  docWithIds,
  editArb,
  FUZZ_SEED,
  hostileNotebookArb,
  LINK_CHARS,
  PROTO_NAMES,
} from './inputs';
import { attempt, expectSoundNotebook, OPTS } from './oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const FILE = 'fuzz.sparsebook.json';
const parse = (text: string) => attempt(rss, FILE, () => parseNotebookFile(text, FILE, OPTS));
const json = (text: string): unknown => {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return undefined;
  }
};

describe('notebook file fuzz', () => {
  it('refuses one-character edits of a real file clearly, or opens exactly what the edited file says', () => {
    const text = serializeNotebook(sampleNotebook());
    fc.assert(
      fc.property(editArb([...LINK_CHARS, '"', '{', '}', ',', ':', '[', ']', '1', '\\', '\ufeff']), (e) => {
        const edited = applyEdit(text, e);
        const out = parse(edited);
        if ('value' in out) expectSoundNotebook(json(edited), out.value);
      }),
      { seed: FUZZ_SEED, numRuns: 500, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses hostile documents clearly, or opens them faithfully', () => {
    fc.assert(
      fc.property(hostileNotebookArb(), (value) => {
        const out = parse(JSON.stringify(value) ?? 'null');
        if ('value' in out) expectSoundNotebook(value, out.value);
      }),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 4000 },
    );
  });

  it('refuses arbitrary JSON and text clearly', () => {
    const text = fc.oneof(
      fc.json({ maxDepth: 5 }),
      fc.string({ maxLength: 300 }),
      fc
        .jsonValue()
        .map((v) => JSON.stringify({ format: 'sparsebook-notebook', version: 2, title: 't', cells: v })),
    );
    fc.assert(
      fc.property(text, (t) => {
        const out = parse(t);
        if ('value' in out) expectSoundNotebook(json(t), out.value);
      }),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 3000 },
    );
  });

  it('keeps cells whose ids are named after Object.prototype, and refuses a "__proto__" input role', () => {
    const ids = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const doc = docWithIds(ids);
    const out = parse(JSON.stringify(doc));
    expect('value' in out && out.value.cells.map((c) => c.id)).toEqual(ids);
    if ('value' in out) expectSoundNotebook(doc, out.value);
    for (const role of PROTO_NAMES.filter((r) => r !== '__proto__' && r !== 'length')) {
      const text = JSON.stringify(doc).replace(
        '"inputs":{"text":"constructor"}',
        `"inputs":{"${role}":"constructor"}`,
      );
      const opened = parse(text);
      expect('value' in opened && canonicalJson(opened.value.cells[2]!.inputs)).toBe(
        `{"${role}":"constructor"}`,
      );
    }
    const proto = parse(
      JSON.stringify(doc).replace('"inputs":{"text":"constructor"}', '"inputs":{"__proto__":"constructor"}'),
    );
    expect('error' in proto && proto.error.message).toBe(
      'fuzz.sparsebook.json: cell 3 ("toString") uses the reserved input role "__proto__"',
    );
  });

  it('refuses deep, huge and empty input quickly', () => {
    for (const t of ['['.repeat(200_000), '{"a":'.repeat(100_000), ' '.repeat(33 << 20), '\ufeff', '']) {
      expect('error' in parse(t)).toBe(true);
    }
  });
});
