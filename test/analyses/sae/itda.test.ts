/** ITDA: dictionary building by matching pursuit, encoding, and the lossy SAE-shaped export. */
import { describe, expect, it } from 'vitest';
import { forward } from '../../../analyses/sae/forward';
import { buildItda, itdaEncode, itdaToSaeParams } from '../../../analyses/sae/itda';
import { SaeEvalAccumulator } from '../../../analyses/sae/metrics';
import { randomDirections, sparseData } from './sae-fixtures';

describe('ITDA', () => {
  const dIn = 32;
  const dirs = randomDirections(64, dIn, 1);
  const train = sparseData(dirs, dIn, 4000, 2, { maxActive: 3 });
  const held = sparseData(dirs, dIn, 1000, 3, { maxActive: 3 });

  it('builds unit-norm atoms from data rows and reconstructs held-out data well', () => {
    const dict = buildItda(train, dIn, { k: 8, threshold: 0.05, maxSize: 512 });
    expect(dict.size).toBeGreaterThan(32);
    expect(dict.size).toBeLessThanOrEqual(512);
    for (let j = 0; j < dict.size; j++) {
      const atom = dict.atoms.subarray(j * dIn, (j + 1) * dIn);
      expect(Math.hypot(...atom)).toBeCloseTo(1, 5);
      // Each atom is its source row, normalised.
      const src = train.subarray(dict.sources[j]! * dIn, (dict.sources[j]! + 1) * dIn);
      const norm = Math.hypot(...src);
      expect(atom[0]).toBeCloseTo(src[0]! / norm, 5);
    }
    const codes = itdaEncode(dict, held, 8);
    const acc = new SaeEvalAccumulator(dIn, dict.size);
    acc.add(held, codes.reconstruction, codes.latents);
    const r = acc.result();
    console.log(
      `ITDA synthetic: ${dict.size} atoms, EV ${r.explainedVariance.toFixed(4)}, L0 ${r.l0.toFixed(2)}`,
    );
    expect(r.explainedVariance).toBeGreaterThan(0.9);
    expect(r.l0).toBeLessThanOrEqual(8);
    // Sparse and dense codes agree.
    for (let s = 0; s < 8; s++) {
      const j = codes.indices[s]!;
      if (j >= 0) expect(codes.latents[j]).toBe(codes.values[s]);
    }
  });

  it('stops at maxSize and adds nothing a stricter threshold would not', () => {
    const small = buildItda(train, dIn, { k: 4, threshold: 0.01, maxSize: 20 });
    expect(small.size).toBe(20);
    const loose = buildItda(train, dIn, { k: 4, threshold: 0.5, maxSize: 4000 });
    const strict = buildItda(train, dIn, { k: 4, threshold: 0.1, maxSize: 4000 });
    expect(loose.size).toBeLessThan(strict.size);
  });

  it('reconstructs an atom exactly with one step', () => {
    const dict = buildItda(train, dIn, { k: 4, threshold: 0.1, maxSize: 100 });
    const row = train.slice(dict.sources[5]! * dIn, (dict.sources[5]! + 1) * dIn);
    const codes = itdaEncode(dict, row, 1);
    expect(codes.indices[0]).toBe(5);
    for (let d = 0; d < dIn; d++) expect(codes.reconstruction[d]).toBeCloseTo(row[d]!, 4);
  });

  it('exports to a TopK SAE shape (lossy: one-shot correlations instead of pursuit)', () => {
    const dict = buildItda(train, dIn, { k: 4, threshold: 0.1, maxSize: 200 });
    const { cfg, params } = itdaToSaeParams(dict, 4, 'blocks.0.hook_resid_post');
    expect(cfg).toMatchObject({ kind: 'topk', dIn, dSae: dict.size, k: 4 });
    expect(params.wEnc[3 * dict.size + 7]).toBe(dict.atoms[7 * dIn + 3]);
    const sae = forward(params, cfg, held);
    const mp = itdaEncode(dict, held, 4);
    const ev = (xHat: Float32Array) => {
      const acc = new SaeEvalAccumulator(dIn, 1);
      acc.add(held, xHat);
      return acc.result().explainedVariance;
    };
    expect(ev(sae.reconstruction)).toBeLessThan(ev(mp.reconstruction));
  });

  it('rejects bad options', () => {
    expect(() => buildItda(train, dIn, { k: 0, threshold: 0.1, maxSize: 10 })).toThrow('invalid ITDA k: 0');
    expect(() => buildItda(train, dIn, { k: 2, threshold: 2, maxSize: 10 })).toThrow(
      'invalid ITDA threshold',
    );
    expect(() => buildItda(train, 33, { k: 2, threshold: 0.1, maxSize: 10 })).toThrow('not a multiple');
  });
});
