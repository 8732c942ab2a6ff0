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
import { SWEEP_COLUMNS, SWEEP_HEAD_COLUMNS } from '../../../analyses/attention/sweep-tables';
import { createCpuBackend } from '../../../kernels/cpu-backend';
import { loadLlama2c } from '../../../runtime';
import { readShared, sharedPath, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../../helpers/shared-paths';

const { model, tokenizer } = loadLlama2c(
  createCpuBackend(),
  readShared(STORIES260K),
  'stories260K.bin',
  readShared(TOK512),
  'tok512.bin',
);
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

  it('kv-magnitude counts its separate K and V keep sets; channel calibrates on held-out text', async () => {
    const kv = await evaluateMask(model, tokenizer, text, 'kv-magnitude', 0.25, { maxWindows: 1 });
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

describe('sweepMasks + bestConfig', () => {
  it('returns documented tables and picks the sparsest point within the loss limit', async () => {
    const s = await sweepMasks(model, tokenizer, text, {
      families: ['topk', 'moa'],
      budgets: [0.1, 0.5, 1],
      maxWindows: 1,
    });
    expect(s.points.schema.fields.map((f) => f.name)).toEqual([...SWEEP_COLUMNS]);
    expect(s.heads.schema.fields.map((f) => f.name)).toEqual([...SWEEP_HEAD_COLUMNS]);
    expect(s.points.numRows).toBe(6);
    expect(s.heads.numRows).toBe(6 * nLayers * nHeads);
    const round = { points: tableFromIPC(tableToIPC(s.points)), heads: tableFromIPC(tableToIPC(s.heads)) };
    const loose = bestConfig(round, 10)!;
    expect(loose.density).toBeLessThan(0.15);
    expect(loose.per_head).toHaveLength(nLayers * nHeads);
    const tight = bestConfig(round, 0)!;
    expect(tight.budget).toBe(1);
    const moaIncrease = s.evaluations.find((e) => e.family === 'moa' && e.budget === 0.5)!.loss_increase;
    const topkIncrease = s.evaluations.find((e) => e.family === 'topk' && e.budget === 0.5)!.loss_increase;
    const mid = bestConfig(round, Math.max(moaIncrease, topkIncrease) + 1e-6)!;
    expect(mid.density).toBeLessThan(0.6);
    const json = JSON.parse(bestConfigJson(round, Math.max(moaIncrease, topkIncrease) + 1e-6)) as typeof mid;
    expect(json).toEqual(mid);
    if (mid.family === 'moa') expect(mid.per_head.every((h) => (h.window ?? 0) >= 1)).toBe(true);
    const onlyMoa = bestConfig({ points: round.points, heads: round.heads }, moaIncrease + 1e-6)!;
    if (onlyMoa.family === 'moa') expect(onlyMoa.per_head[0]!.window).toBeGreaterThan(0);
    expect(bestConfig(round, 0)).not.toBeNull();
    expect(() => bestConfig(round, -1)).toThrow(/≥ 0/);
  });
});
