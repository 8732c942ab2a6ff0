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
import {
  applyBytes,
  applyHeaderEdit,
  ARCH_NAMES,
  archFiles,
  byteEditArb,
  headerEditArb,
  hostileSafetensorsArb,
  safetensorsBytes,
} from './model-inputs';
import { attemptInput, expectSoundSafetensors } from './model-oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const FILE = 'model.safetensors';
/** Parse `bytes`: a clear refusal, or a file consistent with its bytes. */
function check(bytes: Uint8Array): void {
  const out = attemptInput(rss, [FILE], () => parseSafetensors(bytes, FILE));
  if ('value' in out) expectSoundSafetensors(out.value, bytes);
}
const headerEnd = (b: Uint8Array) => 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));

describe('safetensors fuzz', () => {
  it('refuses byte edits of real files clearly, or reads them consistently', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ARCH_NAMES), byteEditArb(), fc.boolean(), (arch, e, inHeader) => {
        const bytes = archFiles(arch).weights;
        check(inHeader ? applyBytes(bytes, e, 0, headerEnd(bytes)) : applyBytes(bytes, e));
      }),
      { seed: FUZZ_SEED, numRuns: 300, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses header edits clearly, or reads them consistently', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ARCH_NAMES), headerEditArb(), (arch, e) => {
        check(applyHeaderEdit(archFiles(arch).weights, e));
      }),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 3000 },
    );
  });

  it('refuses hostile files clearly, or reads them consistently', () => {
    fc.assert(fc.property(hostileSafetensorsArb(), check), {
      seed: FUZZ_SEED,
      numRuns: 300,
      interruptAfterTimeLimit: 2000,
    });
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
