/**
 * SAE file fuzz (seeded, bounded): SAEs written by the project's own exporter (ReLU, TopK, JumpReLU;
 * F32, F16, BF16) with cfg.json edits (sizes, k, architecture, activation, normalisation, hook,
 * apply_b_dec_to_input, wrong types), safetensors edits (bytes, header, NaN/±Inf and
 * overflow-sized weights), and the zip the app downloads damaged or crafted (bytes, entry counts up
 * to 2^32 − 1, declared sizes up to 4 GiB); the ITDA note. Each is refused with a
 * ModelFormatError / CompatibilityError naming the file, or imports finite parameters that export
 * and import back to themselves.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSaeLens, readItdaK } from '../../analyses/sae/saelens';
import { saeLensFiles } from '../../app/cells/sae/sae-view';
import { ModelFormatError } from '../../runtime/errors';
import { exportSaeLens } from '../../analyses/sae/saelens';
import { FUZZ_SEED } from './inputs';
import {
  applyBytes,
  applyHeaderEdit,
  applyJsonEdit,
  applyZipEdit,
  byteEditArb,
  exportedSaes,
  headerEditArb,
  HOSTILE_FLOATS,
  SAE_HOOK,
  saeCfgEditArb,
  saeParams,
  zipEditArb,
} from './model-inputs';
import { attemptInput, expectSoundSae } from './model-oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

const FILES = ['cfg.json', 'sae_weights.safetensors'];
const expectAt = { dIn: 8, hookName: SAE_HOOK };

function check(cfgJson: string, weights: Uint8Array, expect: { dIn?: number; hookName?: string } = {}): void {
  const out = attemptInput(rss, FILES, () => importSaeLens({ cfgJson, weights }, expect));
  if ('value' in out) expectSoundSae(out.value);
}

describe('SAE file fuzz', () => {
  /** Which exported SAE (an index, so a counterexample prints small). */
  const sae = fc.nat(8);
  const at = (i: number) => exportedSaes()[i]!;

  it('refuses cfg.json edits clearly, or imports a sound SAE', () => {
    fc.assert(
      fc.property(
        sae,
        fc.array(saeCfgEditArb(), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (i, edits, strict) => {
          const s = at(i);
          const doc = edits.reduce<unknown>((d, e) => applyJsonEdit(d, e), JSON.parse(s.cfgJson));
          check(JSON.stringify(doc) ?? 'null', s.weights, strict ? expectAt : {});
        },
      ),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 2500 },
    );
  });

  it('refuses weight-file edits clearly, or imports a sound SAE', () => {
    const edit = fc.oneof(
      byteEditArb().map((e) => (b: Uint8Array) => applyBytes(b, e)),
      headerEditArb().map((e) => (b: Uint8Array) => applyHeaderEdit(b, e)),
    );
    fc.assert(
      fc.property(sae, edit, (i, apply) => check(at(i).cfgJson, apply(at(i).weights), expectAt)),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 2500 },
    );
  });

  it('refuses weights that are non-finite or overflow once folded, or imports a sound SAE', () => {
    const big = fc.constantFrom(...HOSTILE_FLOATS.filter(Number.isFinite));
    const names = fc.subarray(['wEnc', 'bEnc', 'bDec', 'wDec'] as const, { minLength: 1 });
    fc.assert(
      fc.property(sae, big, names, fc.boolean(), (i, v, filled, fold) => {
        const s = at(i);
        const params = saeParams(s.cfg, 1);
        for (const name of filled) params[name].fill(v);
        const files = exportSaeLens(s.cfg, params, { modelName: 'm' });
        const cfg = { ...JSON.parse(files.cfgJson), apply_b_dec_to_input: !fold };
        check(JSON.stringify(cfg), files.weights, expectAt);
      }),
      { seed: FUZZ_SEED, numRuns: 100, interruptAfterTimeLimit: 2000 },
    );
  });

  it('refuses damaged or crafted zips clearly, or reads what they hold', () => {
    fc.assert(
      fc.property(sae, zipEditArb(), (i, e) => {
        const zip = applyZipEdit(at(i).zip, e);
        const out = attemptInput(rss, ['sae.zip'], () => saeLensFiles('sae.zip', zip));
        if ('value' in out) {
          for (const [name, bytes] of Object.entries(out.value)) {
            expect(typeof name).toBe('string');
            expect(bytes).toBeInstanceOf(Uint8Array);
          }
        }
      }),
      { seed: FUZZ_SEED, numRuns: 300, interruptAfterTimeLimit: 2500 },
    );
  });

  it('refuses ITDA notes that are not {"k": integer from 1 to 4,096}', () => {
    const note = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''),
      fc.constantFrom('{"k": 8}', '{"k": 0}', '{"k": -1}', '{"k": 1.5}', '{"k": 1e9}', '{"k": "8"}', '{', ''),
    );
    fc.assert(
      fc.property(note, (text) => {
        const out = attemptInput(rss, ['itda.json'], () =>
          readItdaK(new TextEncoder().encode(text), 'itda.json'),
        );
        if ('value' in out)
          expect(Number.isSafeInteger(out.value) && out.value >= 1 && out.value <= 4096).toBe(true);
      }),
      { seed: FUZZ_SEED, numRuns: 200, interruptAfterTimeLimit: 1000 },
    );
  });
});

describe('SAE fuzz findings', () => {
  it('refuses b_enc that overflows float32 once b_dec · W_enc is folded in (was: b_enc held ±Infinity)', () => {
    const s = exportedSaes()[0]!;
    const params = saeParams(s.cfg, 1);
    params.wEnc.fill(1e30);
    params.bDec.fill(1e30);
    const files = exportSaeLens(s.cfg, params, { modelName: 'm' });
    const cfgJson = JSON.stringify({ ...JSON.parse(files.cfgJson), apply_b_dec_to_input: false });
    expect(() => importSaeLens({ cfgJson, weights: files.weights })).toThrow(ModelFormatError);
    expect(() => importSaeLens({ cfgJson, weights: files.weights })).toThrow(
      /^sae_weights\.safetensors: b_enc\[0\] is -?Infinity once the file's conventions are folded in \(beyond float32\)$/,
    );
    // The same weights subtracting b_dec (nothing folded) import as they are.
    expect(importSaeLens(files).params.bDec[0]).toBe(Math.fround(1e30));
  });

  it('refuses a zip claiming 2^32 − 1 entries at once (was: a hang), and a 4 GiB entry unread', () => {
    const { zip } = exportedSaes()[0]!;
    const many = applyZipEdit(zip, { kind: 'entries', count: 2 ** 32 - 1, zip64: true });
    expect(() => saeLensFiles('sae.zip', many)).toThrow(
      'sae.zip: more than 64 files in the zip; is it an exported SAE?',
    );
    const huge = applyZipEdit(zip, { kind: 'size', entry: 1, size: 2 ** 32 - 1 });
    expect(() => saeLensFiles('sae.zip', huge)).toThrow(
      /^sae\.zip: "sae_weights\.safetensors" would inflate [\d,]+ bytes to 4,294,967,295; refused$/,
    );
    // A damaged zip is a ModelFormatError naming it (was a plain Error).
    expect(() => saeLensFiles('sae.zip', zip.subarray(0, 100))).toThrow(ModelFormatError);
    expect(() => saeLensFiles('sae.zip', zip.subarray(0, 100))).toThrow(/^sae\.zip: not a readable zip \(/);
    expect(Object.keys(saeLensFiles('sae.zip', zip)).sort()).toEqual(['cfg.json', 'sae_weights.safetensors']);
  });

  it('refuses an ITDA k that is not a small positive integer (was: 1e9 accepted; bad JSON a SyntaxError)', () => {
    const note = (s: string) => new TextEncoder().encode(s);
    expect(readItdaK(note('{"k": 16}'), 'itda.json')).toBe(16);
    expect(() => readItdaK(note('{"k": 1e9}'), 'itda.json')).toThrow(
      'itda.json: ITDA k is 1000000000, expected an integer from 1 to 4096',
    );
    expect(() => readItdaK(note('{'), 'itda.json')).toThrow(/^itda\.json: not valid JSON \(/);
    expect(() => readItdaK({ k: 0, encoder: 'matching-pursuit' }, 'cfg.json')).toThrow(
      /^cfg\.json: ITDA k is 0/,
    );
  });
});
