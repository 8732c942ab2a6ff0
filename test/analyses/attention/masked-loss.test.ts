/**
 * maskedLoss on stories260K: a mask that keeps everything reproduces the dense loss (1e-5); keeping
 * less costs loss; density and recall are counted over every layer, head and query row.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyMask, maskedLoss } from '../../../analyses/attention/masked-loss';
import type { HeadMasks, LayerPattern } from '../../../analyses/attention/types';
import { evaluateLoss } from '../../../runtime';
import { sharedPath, TINYSTORIES_VALID } from '../../helpers/shared-paths';
import { loadStories260K } from '../../helpers/stories260k';

const { model, tokenizer } = loadStories260K();
// ~2,000 tokens: several windows' worth of rows, quick on the CPU.
const text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
  .split('<|endoftext|>')
  .slice(0, 10)
  .join('<|endoftext|>');

/** Keep the last `w` keys of every query (itself included). */
function windowMask(w: number) {
  return ({ pattern }: { pattern: LayerPattern }): HeadMasks => {
    const { T, nHeads } = pattern;
    const keep = new Uint8Array(nHeads * T * T);
    for (let h = 0; h < nHeads; h++)
      for (let i = 0; i < T; i++)
        for (let j = Math.max(0, i - w + 1); j <= i; j++) keep[(h * T + i) * T + j] = 1;
    return { T, nHeads, keep };
  };
}

describe('maskedLoss (stories260K, CPU)', () => {
  it('a mask that keeps every causal entry reproduces the dense loss within 1e-5', async () => {
    const dense = await evaluateLoss(model, tokenizer, text);
    const r = await maskedLoss(model, tokenizer, text, windowMask(Infinity));
    expect(Math.abs(r.loss - dense.loss)).toBeLessThan(1e-5);
    expect(r.tokens).toBe(dense.tokens);
    expect(r.density).toBe(1);
    expect(r.recall).toBeCloseTo(1, 5);
  });

  it('keeping fewer keys costs loss; density and recall fall with the window', async () => {
    const dense = await evaluateLoss(model, tokenizer, text);
    const w1 = await maskedLoss(model, tokenizer, text, windowMask(1));
    const w16 = await maskedLoss(model, tokenizer, text, windowMask(16));
    expect(w1.loss).toBeGreaterThan(w16.loss);
    expect(w16.loss).toBeGreaterThan(dense.loss - 1e-6);
    expect(w1.density).toBeLessThan(w16.density);
    expect(w1.recall).toBeLessThan(w16.recall);
    // Window 1 keeps exactly one entry per query row: rows = targets, for 8 heads in 5 layers.
    expect(w1.keptEntries).toBe(w1.tokens * 8 * 5);
    console.log(
      `dense ${dense.loss.toFixed(4)}, window 16 ${w16.loss.toFixed(4)} (density ${w16.density.toFixed(3)}, recall ${w16.recall.toFixed(3)}), window 1 ${w1.loss.toFixed(4)}`,
    );
  });

  it('runs extra hooks in the same passes and refuses one that would replace the mask hook', async () => {
    let calls = 0;
    const r = await maskedLoss(model, tokenizer, text, windowMask(Infinity), {
      extraHooks: { 'blocks.2.attn.hook_v': () => void calls++ },
    });
    expect(calls).toBe(r.windows);
    await expect(
      maskedLoss(model, tokenizer, text, windowMask(1), {
        extraHooks: { 'blocks.0.attn.hook_pattern': () => {} },
      }),
    ).rejects.toThrow(/would replace the mask's own hook/);
  });

  it('masks only the layers asked for, and refuses a bad layer', async () => {
    const dense = await evaluateLoss(model, tokenizer, text);
    const one = await maskedLoss(model, tokenizer, text, windowMask(1), { layers: [4] });
    const all = await maskedLoss(model, tokenizer, text, windowMask(1));
    expect(one.loss).toBeGreaterThan(dense.loss);
    expect(one.loss).toBeLessThan(all.loss);
    await expect(maskedLoss(model, tokenizer, text, windowMask(1), { layers: [5] })).rejects.toThrow(
      /layer 5/,
    );
  });
});

describe('applyMask', () => {
  it('renormalises the kept mass per row and counts density and recall', () => {
    // One head, T = 2: row 0 = [1], row 1 = [0.25, 0.75]; keep only the diagonal.
    const probs = Float32Array.of(1, 0, 0.25, 0.75);
    const stats = { kept: 0, causal: 0, recallSum: 0, rows: 0 };
    const out = applyMask(probs, { T: 2, nHeads: 1, keep: Uint8Array.of(1, 0, 0, 1) }, stats);
    expect(Array.from(out)).toEqual([1, 0, 0, 1]);
    expect(stats).toEqual({ kept: 2, causal: 3, recallSum: 1.75, rows: 2 });
  });

  it('keeps the dense row when a mask keeps no mass in it', () => {
    const stats = { kept: 0, causal: 0, recallSum: 0, rows: 0 };
    const out = applyMask(Float32Array.of(1), { T: 1, nHeads: 1, keep: Uint8Array.of(0) }, stats);
    expect(Array.from(out)).toEqual([1]);
  });
});
