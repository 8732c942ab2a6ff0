/**
 * The loss convention's windows (runtime/windows.ts) against hand-computed cases: the document
 * token before each document, window boundaries at kS, every token after the first predicted
 * exactly once, the last partial window, input-only windows, and the one loop's progress and abort.
 */
import { describe, expect, it } from 'vitest';
import { buildTokenStream } from '../../runtime/text';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import {
  eachWindow,
  inputWindows,
  lossWindows,
  streamTokensFor,
  type WindowTokens,
} from '../../runtime/windows';

/** A tokenizer whose document token is 1 and whose tokens are the characters' codes. */
const chars = {
  encode: (text: string, o: { bos?: boolean } = {}) =>
    Int32Array.from([...(o.bos ? [1] : []), ...Array.from(text, (c) => c.charCodeAt(0))]),
} as unknown as Tokenizer;

async function walk(tokens: Int32Array, windows: ReturnType<typeof lossWindows>) {
  const out: WindowTokens[] = [];
  for await (const w of eachWindow(tokens, windows)) out.push(w);
  return out;
}

describe('loss windows', () => {
  it('are the loss evaluation windows: inputs stream[kS, kS + S), the last token never an input', () => {
    expect(lossWindows(1025, 512).map((w) => [w.start, w.length])).toEqual([
      [0, 512],
      [512, 512],
    ]);
    expect(lossWindows(1026, 512).map((w) => w.length)).toEqual([512, 512, 1]);
    expect(lossWindows(1, 512)).toEqual([]);
    expect(lossWindows(2000, 512, { maxTokens: 600 }).map((w) => w.length)).toEqual([512, 88]);
    expect(lossWindows(2000, 512, { maxWindows: 1 })).toHaveLength(1);
    expect(() => lossWindows(2000, 512, { maxWindows: 0 })).toThrow(/maxWindows/);
  });

  it('puts the document token before every document and predicts each later token once (hand-computed)', async () => {
    // Documents "ab", "c", "de" (the empty one between separators dropped), each after token 1.
    const stream = buildTokenStream(chars, 'ab<|endoftext|> c <|endoftext|>\n<|endoftext|>de');
    expect(Array.from(stream.tokens)).toEqual([1, 97, 98, 1, 99, 1, 100, 101]);
    expect(stream.documentStarts).toEqual([0, 3, 5]);
    const windows = lossWindows(stream.tokens.length, 3);
    expect(windows).toEqual([
      { index: 0, start: 0, length: 3 },
      { index: 1, start: 3, length: 3 },
      { index: 2, start: 6, length: 1 },
    ]);
    const seen = await walk(stream.tokens, windows);
    expect(seen.map((w) => [Array.from(w.inputs), Array.from(w.targets)])).toEqual([
      [
        [1, 97, 98],
        [97, 98, 1],
      ],
      [
        [1, 99, 1],
        [99, 1, 100],
      ],
      [[100], [101]],
    ]);
    // Every token after the first is a target exactly once, in order.
    expect(seen.flatMap((w) => Array.from(w.targets))).toEqual(Array.from(stream.tokens.subarray(1)));
    // A stream of S + 1 tokens is one full window; one more token adds a window of one input.
    expect(lossWindows(4, 3).map((w) => w.length)).toEqual([3]);
    expect(lossWindows(5, 3).map((w) => w.length)).toEqual([3, 1]);
    expect(streamTokensFor(2, 3)).toBe(7);
    expect(lossWindows(streamTokensFor(2, 3), 3)).toHaveLength(2);
  });

  it('skips held-out windows with `first`, keeping their stream numbers', () => {
    expect(lossWindows(11, 3, { first: 1, maxWindows: 2 })).toEqual([
      { index: 1, start: 3, length: 3 },
      { index: 2, start: 6, length: 3 },
    ]);
    expect(lossWindows(11, 3, { first: 4 })).toEqual([]);
    expect(() => lossWindows(11, 3, { first: -1 })).toThrow(/first window/);
    expect(() => lossWindows(11, 0)).toThrow(/window size/);
  });

  it('input windows take every token as an input (passes without targets)', () => {
    expect(inputWindows(8, 3).map((w) => [w.start, w.length])).toEqual([
      [0, 3],
      [3, 3],
      [6, 2],
    ]);
    expect(inputWindows(6, 3, { maxWindows: 1 })).toEqual([{ index: 0, start: 0, length: 3 }]);
  });
});

describe('eachWindow', () => {
  it('reports progress before the first window and after each, and stops between windows on abort', async () => {
    const tokens = Int32Array.from({ length: 10 }, (_, i) => i);
    const progress: number[] = [];
    const controller = new AbortController();
    const ran: number[] = [];
    const run = (async () => {
      for await (const w of eachWindow(tokens, lossWindows(10, 3), {
        signal: controller.signal,
        onProgress: (p) => progress.push(p.done * 10 + p.total),
      })) {
        ran.push(w.index);
        if (w.index === 1) controller.abort(new DOMException('stop', 'AbortError'));
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(ran).toEqual([0, 1]);
    // done·10 + total: 0 of 3, 1 of 3, 2 of 3 (then the abort).
    expect(progress).toEqual([3, 13, 23]);
    await expect(walk(tokens, lossWindows(10, 3))).resolves.toHaveLength(3);
  });
});
