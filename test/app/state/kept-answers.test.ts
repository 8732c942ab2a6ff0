/**
 * The cells' answers to the selection kept for reports (app/state/kept-answers.ts), and the
 * parsers that read a report's kept answers back (untrusted: anything malformed is no answer).
 */
import { describe, expect, it } from 'vitest';
import { answerKey, KeptAnswers } from '../../../app/state/kept-answers';
import { parseLossDelta, tokenDelta } from '../../../app/cells/token-loss-delta';
import { parseTokenRoute } from '../../../app/cells/moe-lab/moe-lab-data';
import { parsePromptTokens } from '../../../app/cells/sae-features/features-view';
import type { Json } from '../../../app/notebook/cell-runtime';

describe('answer keys', () => {
  it('stand for a long document by its length and hash: short, and different for another text', () => {
    const doc = 'Once upon a time there was a fox. '.repeat(200);
    const key = answerKey(['token loss', 'sweep|3', doc]);
    expect(key.length).toBeLessThan(80);
    expect(key).toBe(answerKey(['token loss', 'sweep|3', doc]));
    expect(key).not.toBe(answerKey(['token loss', 'sweep|3', doc.replace('fox', 'cat')]));
    expect(key).not.toBe(answerKey(['token loss', 'sweep|4', doc]));
    expect(answerKey(['expert route', 'short text', 7])).toBe('["expert route","short text",7]');
  });
});

describe('kept answers', () => {
  it('keep the latest answer per cell, read it for its key only, and export it with its result only', () => {
    const kept = new KeptAnswers();
    kept.keep('c1', 'r1', { key: 'doc A', value: { n: 1 } });
    kept.keep('c1', 'r1', { key: 'doc B', value: { n: 2 } });
    kept.keep('c2', 'r-old', { key: 'doc A', value: [3] });
    kept.keep('c3', undefined, { key: 'doc A', value: 4 });
    expect(kept.get('c1', 'doc A')).toBeUndefined();
    expect(kept.get('c1', 'doc B')).toEqual({ n: 2 });
    // c2's answer was computed beside an older result; c3's beside none.
    const out = kept.forResults(
      new Map([
        ['c1', { key: 'r1' }],
        ['c2', { key: 'r-new' }],
        ['c3', { key: 'r3' }],
      ]),
    );
    expect([...out]).toEqual([['c1', { key: 'doc B', value: { n: 2 } }]]);
    // A report's answers replace this session's.
    kept.replace(new Map([['c9', { key: 'k', value: true }]]), new Map([['c9', { key: 'r9' }]]));
    expect(kept.get('c1', 'doc B')).toBeUndefined();
    expect(kept.get('c9', 'k')).toBe(true);
    expect([...kept.forResults(new Map([['c9', { key: 'r9' }]]))]).toEqual([
      ['c9', { key: 'k', value: true }],
    ]);
  });
});

describe('kept answers read back', () => {
  it('a loss change: the strip rebuilt, malformed ones refused', () => {
    const d = parseLossDelta({ tokens: ['<doc>', ' a', ' b'], dense: [null, 2, 3], changed: [null, 2.5, 2] });
    expect(d!.strip.numRows).toBe(3);
    expect(Array.from(d!.strip.getChild('delta')!.toArray() as Float32Array).slice(1)).toEqual([0.5, -1]);
    expect(tokenDelta(d!, 2)).toEqual({ token: ' b', dense: 3, changed: 2, delta: -1 });
    for (const bad of [
      null,
      [1],
      { tokens: ['a'], dense: [1, 2], changed: [1] },
      { tokens: [1], dense: [1], changed: [1] },
      { tokens: ['a'], dense: ['1'], changed: [1] },
      { tokens: ['a'], dense: [1] },
    ] as Json[]) {
      expect(parseLossDelta(bad)).toBeUndefined();
    }
  });

  it("a token's experts, malformed ones refused", () => {
    const route = {
      position: 1,
      tokenId: 5,
      token: ' a',
      documentTokens: 2,
      nExperts: 4,
      topK: 2,
      layers: [{ layer: 0, experts: [3, 1], gates: [0.6, 0.4] }],
      map: { tokens: ['<doc>', ' a'], experts: [[0, 3]] },
    };
    expect(parseTokenRoute(route)).toEqual(route);
    expect(parseTokenRoute({ ...route, position: 1.5 })).toBeUndefined();
    expect(parseTokenRoute({ ...route, token: 3 })).toBeUndefined();
    expect(
      parseTokenRoute({ ...route, layers: [{ layer: 0, experts: [3], gates: [0.6, 0.4] }] }),
    ).toBeUndefined();
    expect(parseTokenRoute({ ...route, map: { tokens: ['<doc>'], experts: [[0, 3]] } })).toBeUndefined();
    expect(parseTokenRoute([route])).toBeUndefined();
  });

  it("a document's active SAE features, malformed ones refused", () => {
    const tokens = [
      { position: 0, tokenId: 1, token: '<doc>', features: [] },
      { position: 1, tokenId: 9, token: ' a', features: [{ feature: 12, activation: 3.5 }] },
    ];
    expect(parsePromptTokens(tokens)).toEqual(tokens);
    expect(parsePromptTokens({ tokens } as Json)).toBeUndefined();
    expect(
      parsePromptTokens([{ ...tokens[1]!, features: [{ feature: 'x', activation: 1 }] }]),
    ).toBeUndefined();
    expect(parsePromptTokens([{ ...tokens[1]!, position: -0.5 }])).toBeUndefined();
  });
});
