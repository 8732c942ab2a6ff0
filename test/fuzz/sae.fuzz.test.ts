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
import { exportSaeLens, importSaeLens, readItdaK } from '../../analyses/sae/saelens';
import { saeLensFiles } from '../../app/cells/sae/sae-view';
import { ModelFormatError } from '../../runtime/errors';
import { FUZZ_SEED } from './inputs';
import { caseArb, checkCase } from './model-cases';
import { applyZipEdit, exportedSaes, saeParams } from './model-inputs';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
beforeAll(async () => {
  rss = await RssPeak.start();
});
afterAll(() => rss.stop());

describe('SAE file fuzz', () => {
  it('refuses edited cfg.json, weights, zips and ITDA notes clearly, or imports a sound SAE', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb('sae'), async (c) => void (await checkCase(rss, c))),
      { seed: FUZZ_SEED, numRuns: 800, interruptAfterTimeLimit: 2500 },
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
