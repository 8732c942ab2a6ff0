/**
 * The interpretability cells' data shaping on real job output (stories260K, CPU): the lens matrix
 * is layers × positions in the grid's values, the trajectory is one column, top tokens parse back;
 * patching and DLA decode to the matrices the heatmaps show; the explorer's bars, masks and
 * per-token channels match the values tensor.
 */
import { tableToIPC, type Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { CellResult } from '../../../app/notebook/cell-runtime';
import { activationsJob, dlaJob, logitLensJob, patchJob } from '../../../workers/interp-jobs';
import {
  columnMask,
  decodeLens,
  formsAt,
  lensMatrix,
  topTokens,
  trajectory,
} from '../../../app/cells/logit-lens/lens-data';
import { decodePatching, strongest } from '../../../app/cells/activation-patching/patching-data';
import { decodeDla, partBars } from '../../../app/cells/logit-attribution/dla-data';
import {
  channelBars,
  chunkCurves,
  decodeActivations,
  outlierChannels,
  rowMask,
  tokenTopChannels,
} from '../../../app/cells/activations/activations-data';
import { loadStories260K } from '../../helpers/stories260k';

const { model, tokenizer } = loadStories260K();
const CLEAN = 'Once upon a time, there was a kid named Lily. One day,';
const asResult = (tables: Record<string, Table | undefined>): CellResult => ({
  meta: {},
  tables: Object.fromEntries(
    Object.entries(tables).flatMap(([k, t]) => (t ? [[k, tableToIPC(t, 'stream')]] : [])),
  ),
});

describe('logit lens data', () => {
  it('shapes the grid into layers × positions and one position into its trajectory', async () => {
    const r = await logitLensJob(model, tokenizer, { text: CLEAN, topK: 4 });
    const d = decodeLens(asResult(r.tables));
    expect([d.boundaries, d.positions]).toEqual([6, d.tokens.length - 1]);
    const m = lensMatrix(d, 'target_prob');
    const p = 7;
    const steps = trajectory(d, p);
    expect(steps).toHaveLength(6);
    for (const s of steps) expect(m[s.layer * d.positions + p]).toBeCloseTo(s.prob, 6);
    // The output's own row: rank 0 exactly where the model's top-1 is the next token.
    const last = steps.at(-1)!;
    expect(topTokens(last.top)[0]!.prob).toBeCloseTo(Math.max(...topTokens(last.top).map((t) => t.prob)), 6);
    expect(topTokens(last.top)).toHaveLength(4);
    const mask = columnMask(d, p);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(6);
    expect(mask[5 * d.positions + p]).toBe(1);
    expect(trajectory(d, d.positions)).toEqual([]);
  }, 60_000);

  it('formsAt finds the first layer from which the next token stays top-1', () => {
    const s = (ranks: number[]) => ranks.map((rank, layer) => ({ layer, rank, prob: 0, kl: 0, top: '' }));
    expect(formsAt(s([3, 0, 1, 0, 0]))).toBe(3);
    expect(formsAt(s([0, 0, 0]))).toBe(0);
    expect(formsAt(s([0, 2]))).toBe(-1);
    expect(topTokens(' a b 0.5\nx 0.25')).toEqual([
      { token: ' a b', prob: 0.5 },
      { token: 'x', prob: 0.25 },
    ]);
  });
});

describe('patching and DLA data', () => {
  it('decodes restored by position and by head into the heatmaps’ matrices', async () => {
    const base = {
      clean: CLEAN,
      corrupted: CLEAN.replace('Lily', 'Tim'),
      answer: ' she',
      wrong: ' he',
      metric: 'logit-diff' as const,
    };
    const each = await patchJob(model, tokenizer, {
      ...base,
      hook: 'hook_resid_pre',
      positions: 'each',
      perHead: false,
    });
    const d = decodePatching(asResult(each.tables), 5, 8);
    const T = d.tokens.length;
    const name = d.tokens.findIndex((t) => t.includes('→'));
    expect(d.byPosition![0 * T + name]).toBeGreaterThan(0.9);
    expect(d.byHead).toBeUndefined();
    expect(strongest(d.byPosition!, T, 1, (p) => d.tokens[p]!)[0]).toMatch(/^L\d·.*Lil/);
    const heads = await patchJob(model, tokenizer, {
      ...base,
      hook: 'attn.hook_z',
      positions: 'all',
      perHead: true,
    });
    const h = decodePatching(asResult(heads.tables), 5, 8);
    expect(h.byHead![2 * 8 + 6]).toBeGreaterThan(0.4);
  }, 120_000);

  it('DLA: per-head matrix and bars that together sum to the logit difference', async () => {
    const r = await dlaJob(model, tokenizer, { text: CLEAN, answer: ' she', wrong: ' he', position: -1 });
    const d = decodeDla(asResult(r.tables), 5, 8);
    expect(Math.abs(d.sum - r.summary.logitDiffBeforeSoftcap)).toBeLessThan(1e-4);
    expect(d.heads[2 * 8 + 6]).toBeGreaterThan(0.3);
    const bars = partBars(d, 5, 8);
    const total = (bars.getChild('value')!.toArray() as Float64Array).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(d.sum, 4);
    expect(bars.getChild('part')!.toArray()).toContain('L2.heads');
  });
});

describe('activations data', () => {
  it('bars, masks and a token’s largest channels follow the values tensor', async () => {
    const r = await activationsJob(model, tokenizer, {
      text: CLEAN,
      hook: 'blocks.4.hook_resid_post',
      nearZero: 0.01,
      neuronThreshold: 0.05,
    });
    const d = decodeActivations(asResult(r.tables));
    expect([d.T, d.C]).toEqual([r.summary.tokens, 64]);
    const bars = channelBars(d, 'max_abs', 5);
    const best = Number(String(bars.getChild('channel')!.get(0)).slice(3));
    let max = 0;
    let argmax = -1;
    for (let c = 0; c < d.C; c++)
      for (let t = 0; t < d.T; t++) {
        const a = Math.abs(d.values[t * d.C + c]!);
        if (a > max) [max, argmax] = [a, c];
      }
    expect(best).toBe(argmax);
    expect(bars.getChild('value')!.get(0)).toBeCloseTo(max, 5);
    expect(outlierChannels(d)).toEqual(r.summary.outlierChannels);
    const top = tokenTopChannels(d, 3, 3);
    const row = Array.from(d.values.subarray(3 * d.C, 4 * d.C), Math.abs).sort((a, b) => b - a);
    expect(top.map((c) => Math.abs(c.value))).toEqual(row.slice(0, 3));
    expect(rowMask(d, 3).reduce((a, b) => a + b, 0)).toBe(d.C);
    const curves = chunkCurves(d.chunks!);
    expect(new Set(curves.getChild('layer')!.toArray() as string[])).toEqual(
      new Set(['L0', 'L1', 'L2', 'L3', 'L4']),
    );
  });
});
