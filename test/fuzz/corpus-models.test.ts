/**
 * Replays the model-file parsers' share of test/fuzz/corpus (the directories named after
 * MODEL_PARSERS; corpus.test.ts replays the notebook, share-link and report ones): inputs that
 * crashed a parser, were silently accepted, hung, blew up memory or were refused unclearly before
 * the fuzzing fixes (found by test/fuzz/measure-model-parsers.ts on commit 3cd67a5; each file's
 * `before` says how). Each file holds one case descriptor (see model-cases.ts: a real seed file
 * and its edit, or a small input from scratch) and its outcome now: the exact refusal, or an
 * accepted value, which must also be sound.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCase, MODEL_PARSERS, type ModelCase } from './model-cases';
import { RssPeak } from './rss-peak';

interface Entry {
  before: string;
  case: ModelCase;
  expect: { outcome: 'refused'; message: string } | { outcome: 'accepted' };
}

const DIR = path.join(import.meta.dirname, 'corpus');
const entries = MODEL_PARSERS.filter((p) => existsSync(path.join(DIR, p))).flatMap((parser) =>
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

describe('model-file fuzz corpus', () => {
  it('holds inputs for every model-file parser the fuzzing found failing before', () => {
    const parsers = new Set(entries.map((e) => e.name.split('/')[0]));
    expect([...parsers].sort()).toEqual([...MODEL_PARSERS].sort());
    for (const { name, entry } of entries) expect(entry.case.parser, name).toBe(name.split('/')[0]);
  });

  it.each(entries)('$name', async ({ entry: e }) => {
    const out = await checkCase(rss, e.case);
    if (e.expect.outcome === 'refused') {
      expect('error' in out && out.error.message).toBe(e.expect.message);
    } else {
      expect('value' in out, 'accepted').toBe(true);
    }
  });
});
