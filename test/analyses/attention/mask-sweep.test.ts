/**
 * evaluateMask / sweepMasks / bestConfig on stories260K (a couple of windows of TinyStories):
 * the cost model's dense figures, eviction vs selection KV bytes, channel calibration held out,
 * the Arrow tables' columns, and the best-config choice.
 */
import { readFileSync } from 'node:fs';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { bestConfig, bestConfigJson } from '../../../analyses/attention/best-config';
import { evaluateMask, sweepMasks } from '../../../analyses/attention/mask-sweep';
import { SWEEP_COLUMNS, SWEEP_HEAD_COLUMNS, tableRows } from '../../../analyses/attention/sweep-tables';
import type { Tensor } from '../../../kernels/tensor';
import type { Hooks } from '../../../runtime/hooks';
import { evaluateLoss } from '../../../runtime/eval/loss';
import { sharedPath, TINYSTORIES_VALID } from '../../helpers/shared-paths';
import { loadStories260K } from '../../helpers/stories260k';

const { model, tokenizer } = loadStories260K();
const text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
  .split('<|endoftext|>')
  .slice(0, 30)
  .join('<|endoftext|>');
const { nLayers, nHeads, nKvHeads, headDim } = model.config;

describe('evaluateMask (stories260K)', () => {
  it('counts FLOPs and KV bytes by the documented cost model', async () => {
    const r = await evaluateMask(model, tokenizer, text, 'window-sink', 16, { maxWindows: 1 });
    expect(r.windows).toBe(1);
    // The longest prefix that fits one window (a story cut by characters to fit).
    const T = r.tokens;
    expect(T).toBeLessThanOrEqual(512);
    expect(T).toBeGreaterThan(450);
    expect(r.attn_flops_dense).toBe(4 * headDim * nHeads * nLayers * ((T * (T + 1)) / 2));
    expect(r.attn_flops).toBe(4 * headDim * r.kept_entries);
    expect(r.kv_bytes_dense).toBe(4 * headDim * 2 * T * nKvHeads * nLayers);
    // Eviction: 16 rows (4 sinks + 12 recent) per KV head stay resident.
    expect(r.kv_bytes).toBe(4 * headDim * 2 * 16 * nKvHeads * nLayers);
    expect(r.per_head).toHaveLength(nLayers * nHeads);
    expect(r.calibration).toBeNull();
    const top = await evaluateMask(model, tokenizer, text, 'topk', 16, { maxWindows: 1 });
    expect(top.kv_bytes).toBe(top.kv_bytes_dense); // selection keeps the full cache
  });

  it('kv-norm-evict counts its separate K and V keep sets; channel calibrates on held-out text', async () => {
    const kv = await evaluateMask(model, tokenizer, text, 'kv-norm-evict', 0.25, { maxWindows: 1 });
    expect(kv.kv_bytes).toBeLessThan(0.3 * kv.kv_bytes_dense);
    expect(kv.kv_bytes).toBeGreaterThan(0.2 * kv.kv_bytes_dense);
    const ch = await evaluateMask(model, tokenizer, text, 'channel', 0.25, { maxWindows: 1 });
    expect(ch.calibration).toMatch(/first 3 document\(s\) of the text \(not scored\)/);
    const held = await evaluateMask(model, tokenizer, text, 'channel', 0.25, {
      maxWindows: 1,
      calibrationText: readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
        .split('<|endoftext|>')
        .slice(900)
        .join('<|endoftext|>'),
    });
    expect(held.calibration).toBe('calibration text');
    expect(Math.abs(held.density - 0.25)).toBeLessThan(0.01);
  });
});

/** Top-n of m by a heap of n, as analyses/README.md states the convention (0 when n ≥ m). */
const heap = (m: number, n: number) => (n >= m ? 0 : m * Math.ceil(Math.log2(n + 1)));

describe('attention FLOPs count the selection', () => {
  it('exact top-k pays the scores of the keys it drops and its top-n; window-sink pays nothing', async () => {
    const top = await evaluateMask(model, tokenizer, text, 'topk', 16, { maxWindows: 1 });
    const T = top.tokens;
    let perHead = 0;
    for (let i = 0; i < T; i++) {
      const n = Math.min(16, i + 1);
      perHead += 2 * headDim * (i + 1 - n) + heap(i + 1, n);
    }
    expect(top.selection_flops).toBe(perHead * nHeads * nLayers);
    expect(top.attn_flops).toBe(4 * headDim * top.kept_entries + top.selection_flops);
    expect(top.oracle).toBe(1);
    const ws = await evaluateMask(model, tokenizer, text, 'window-sink', 16, { maxWindows: 1 });
    expect(ws.selection_flops).toBe(0);
    expect(ws.oracle).toBe(0);
    // Keeping 16 of ~500 keys: top-k's selection costs more than the products it saves.
    expect(top.attn_flops).toBeGreaterThan(ws.attn_flops);
  });
});

describe('mustafar (stories260K)', () => {
  /** Naive per-vector magnitude pruning, written here (independent of masks/mustafar.ts). */
  function prune(x: Float32Array, keep: number): Float32Array {
    const out = new Float32Array(x.length);
    for (let o = 0; o < x.length; o += headDim) {
      const order = [...Array(headDim).keys()].sort(
        (a, b) => Math.abs(x[o + b]!) - Math.abs(x[o + a]!) || a - b,
      );
      for (const c of order.slice(0, keep)) out[o + c] = x[o + c]!;
    }
    return out;
  }
  /** The loss with K (after rope) and/or V pruned by hooks written in this test. */
  async function lossWith(keep: number, which: { k: boolean; v: boolean }) {
    const hooks: Record<string, Hooks[string]> = {};
    for (let l = 0; l < nLayers; l++) {
      const replace = async (t: Tensor<'f32'>) =>
        model.backend.tensor<'f32'>(prune(await model.backend.read(t), keep), t.shape);
      if (which.k) hooks[`blocks.${l}.attn.hook_rot_k`] = replace;
      if (which.v) hooks[`blocks.${l}.attn.hook_v`] = replace;
    }
    return (await evaluateLoss(model, tokenizer, scored, { hooks })).loss;
  }
  const scored = text.slice(0, 1000);

  it('prunes K and V elements per token in the loss, keeps every entry, and costs a sparse cache', async () => {
    const r = await evaluateMask(model, tokenizer, scored, 'mustafar', 0.25);
    expect(r.windows).toBe(1);
    const e = Math.round(0.25 * headDim);
    expect(r.density).toBe(1);
    expect(r.recall).toBeCloseTo(1, 8);
    // Both K and V pruned, as the independent hooks do it; K alone or V alone gives another loss.
    const both = await lossWith(e, { k: true, v: true });
    expect(Math.abs(r.loss - both)).toBeLessThan(1e-5);
    const kOnly = await lossWith(e, { k: true, v: false });
    const vOnly = await lossWith(e, { k: false, v: true });
    expect(Math.abs(r.loss - kOnly)).toBeGreaterThan(1e-3);
    expect(Math.abs(r.loss - vOnly)).toBeGreaterThan(1e-3);
    expect(r.loss_increase).toBeGreaterThan(0);
    // Costs: e values + a headDim-bit bitmap per K and V row; products over e elements; the top-e
    // of each new token's K and V vectors per KV head.
    const T = r.tokens;
    expect(r.kv_bytes).toBe((4 * e + Math.ceil(headDim / 8)) * 2 * T * nKvHeads * nLayers);
    expect(r.selection_flops).toBe((T * nHeads * nLayers * 2 * heap(headDim, e)) / (nHeads / nKvHeads));
    expect(r.attn_flops).toBe(4 * e * r.causal_entries + r.selection_flops);
    expect(r.oracle).toBe(0);
  });
});

describe('sweepMasks + bestConfig', () => {
  it('returns documented tables and picks the cheapest deployable point within the loss limit', async () => {
    const s = await sweepMasks(model, tokenizer, text, {
      families: ['topk', 'window-sink', 'chunk'],
      budgets: [0.1, 0.5, 1],
      maxWindows: 1,
    });
    expect(s.points.schema.fields.map((f) => f.name)).toEqual([...SWEEP_COLUMNS]);
    expect(s.heads.schema.fields.map((f) => f.name)).toEqual([...SWEEP_HEAD_COLUMNS]);
    expect(s.points.numRows).toBe(9);
    expect(s.heads.numRows).toBe(9 * nLayers * nHeads);
    const round = { points: tableFromIPC(tableToIPC(s.points)), heads: tableFromIPC(tableToIPC(s.heads)) };
    const deployable = s.evaluations.filter((e) => e.family !== 'topk');
    const within = (limit: number) => deployable.filter((e) => e.loss_increase <= limit + 1e-9);
    for (const limit of [0, 0.01, 0.05, 10]) {
      const best = bestConfig(round, limit)!;
      expect(best.family).not.toBe('topk');
      expect(best.attn_flops).toBe(Math.min(...within(limit).map((e) => e.attn_flops)));
      expect(best.per_head).toHaveLength(nLayers * nHeads);
    }
    // At top-k's own loss increase at 10 %, top-k (an oracle) is the best point by density; the
    // best deployable configuration is reported instead.
    const topLimit = s.evaluations.find((e) => e.family === 'topk' && e.budget === 0.1)!.loss_increase;
    expect(bestConfig(round, topLimit)?.family).not.toBe('topk');
    const json = JSON.parse(bestConfigJson(round, 0.05)) as ReturnType<typeof bestConfig>;
    expect(json).toEqual(bestConfig(round, 0.05));
    expect(() => bestConfig(round, -1)).toThrow(/≥ 0/);
  });

  it('moa, an oracle, is never the best config; its per-head windows are in the heads table', async () => {
    const s = await sweepMasks(model, tokenizer, text, {
      families: ['moa'],
      budgets: [0.5, 1],
      maxWindows: 1,
    });
    expect(bestConfig(s, 10)).toBeNull();
    const windows = tableRows<{ family: string; window: number }>(s.heads).filter((h) => h.family === 'moa');
    expect(windows.every((h) => h.window >= 1)).toBe(true);
  });
});
