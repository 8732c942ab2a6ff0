/**
 * safetensors reader fuzz (seeded, bounded): byte edits and header edits (huge lengths, negative or
 * overflowing offsets, absurd dims, wrong dtypes, duplicated or missing keys, NaN/±Inf values) of
 * the architecture fixtures' real model.safetensors files, and hostile files from scratch. Each
 * is refused with a ModelFormatError naming the file, or read consistently (see
 * expectSoundSafetensors).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { FUZZ_SEED } from './inputs';
import { caseArb, checkCase } from './model-cases';
import { safetensorsBytes } from './model-inputs';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const FILE = 'model.safetensors';

describe('safetensors fuzz', () => {
  it('refuses byte edits, header edits and hostile files clearly, or reads them consistently', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb('safetensors'), async (c) => void (await checkCase(rss, c))),
      { seed: FUZZ_SEED, numRuns: 700, interruptAfterTimeLimit: 2500 },
    );
  });

  it('refuses a tensor listed twice (JSON.parse kept only the second)', () => {
    const entry = (b: number) => `{"dtype":"F32","shape":[1],"data_offsets":[${b},${b + 4}]}`;
    const bytes = safetensorsBytes(`{"w":${entry(0)}, "w" :${entry(4)}}`, new Uint8Array(8));
    expect(() => parseSafetensors(bytes, FILE)).toThrow(
      'model.safetensors: invalid safetensors header: "w" is listed twice (duplicate keys are not allowed)',
    );
    // An escaped spelling of the same name, and a repeated __metadata__, are repeats too.
    const escaped = safetensorsBytes(`{"w":${entry(0)},"\\u0077":${entry(4)}}`, new Uint8Array(8));
    expect(() => parseSafetensors(escaped, FILE)).toThrow(/"w" is listed twice/);
    const meta = safetensorsBytes('{"__metadata__":{},"__metadata__":{"a":"b"}}', new Uint8Array(0));
    expect(() => parseSafetensors(meta, FILE)).toThrow(/"__metadata__" is listed twice/);
    // Equal keys inside an entry or the metadata are another level: not tensor names.
    const nested = safetensorsBytes(
      `{"__metadata__":{"a":"x"},"w":${entry(0)},"v":{"w":1,"w":2}}`,
      new Uint8Array(4),
    );
    expect(() => parseSafetensors(nested, FILE)).toThrow(/tensor "v" has no dtype/);
  });

  it('says which key an entry lacks (was: "unknown dtype undefined")', () => {
    const file = (entry: string) => safetensorsBytes(`{"w":${entry}}`, new Uint8Array(4));
    expect(() => parseSafetensors(file('{"shape":[1],"data_offsets":[0,4]}'), FILE)).toThrow(
      /^model\.safetensors: tensor "w" has no dtype; known: BOOL, /,
    );
    expect(() => parseSafetensors(file('{"dtype":"F32","data_offsets":[0,4]}'), FILE)).toThrow(
      'model.safetensors: tensor "w" has no shape; expected an array of non-negative integers',
    );
    expect(() => parseSafetensors(file('{"dtype":"F32","shape":[1]}'), FILE)).toThrow(
      'model.safetensors: tensor "w" has no data_offsets; expected [begin, end] byte offsets',
    );
  });
});
