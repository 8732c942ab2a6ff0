import { describe, expect, it } from 'vitest';
import { findCliff } from '../../../analyses/pruning/cliff';
import {
  PRUNING_POINT_COLUMNS,
  pruningSweep,
  sensitivityScan,
  preparePruningText,
  evaluateTokens,
  parsePattern,
  pruneModel,
} from '../../../analyses/pruning';
import { tableRows } from '../../../runtime/tables';
import { readFileSync } from 'node:fs';
import { sharedPath, TINYSTORIES_VALID } from '../../helpers/shared-paths';
import { loadStories260K } from '../../helpers/stories260k';
import { parseSparsities } from '../../../analyses/pruning/sparsities';

describe('findCliff', () => {
  it('marks the last point within tolerance and the first beyond it', () => {
    const c = findCliff(
      [
        { sparsity: 0.7, loss: 2.6 },
        { sparsity: 0.1, loss: 2.005 },
        { sparsity: 0.5, loss: 2.015 },
        { sparsity: 0.6, loss: 2.1 },
      ],
      2.0,
    );
    expect(c).toMatchObject({ essentialSparsity: 0.5, cliffSparsity: 0.6, index: 1 });
    expect(c.steepest).toMatchObject({ from: 0.6, to: 0.7 });
    expect(c.steepest!.slope).toBeCloseTo(5, 9);
  });

  it('a curve that never leaves the band has no cliff; one that leaves at once has essential sparsity 0', () => {
    expect(findCliff([{ sparsity: 0.5, loss: 1.001 }], 1).cliffSparsity).toBeNull();
    expect(findCliff([{ sparsity: 0.1, loss: 1.5 }], 1)).toMatchObject({
      essentialSparsity: 0,
      cliffSparsity: 0.1,
      index: -1,
    });
  });
});

describe('pruningSweep on stories260K (small)', () => {
  const { model, tokenizer } = loadStories260K();
  const text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8');

  it('gives documented tables, monotone costs and a cliff per curve; sensitivity allocation keeps the mean sparsity', async () => {
    const s = await pruningSweep(model, tokenizer, text, {
      methods: ['magnitude', 'wanda'],
      patterns: ['unstructured', '2:4', 'channels'],
      sparsities: parseSparsities([0.2, 0.6]),
      calibrationWindows: 1,
      maxWindows: 1,
    });
    expect(s.points.schema.fields.map((f) => f.name)).toEqual([...PRUNING_POINT_COLUMNS]);
    const rows = tableRows<Record<string, number | string>>(s.points);
    expect(rows).toHaveLength(1 + 2 * 2 + 2 + 2 * 2);
    expect(rows[0]).toMatchObject({ method: 'dense', loss_increase: 0, agreement: 1, weight_sparsity: 0 });
    for (const r of rows.filter((r) => r.pattern === 'unstructured')) {
      // Wanda rounds per row (13 of 64 at 0.2): within one weight per row of the target.
      expect(Math.abs((r.weight_sparsity as number) - (r.sparsity as number))).toBeLessThanOrEqual(1 / 64);
      expect(r.flops).toBe(2 * (r.nonzeros as number));
      // CSR spends 8 bytes per kept weight: it only beats dense f32 beyond 50 % sparsity.
      if ((r.sparsity as number) > 0.5) expect(r.bytes_csr as number).toBeLessThan(r.bytes_dense as number);
      else expect(r.bytes_csr as number).toBeGreaterThan(r.bytes_dense as number);
    }
    const nm = rows.filter((r) => r.pattern === '2:4');
    for (const r of nm) expect(r.bytes_nm as number).toBeLessThan(r.bytes_dense as number);
    // Channels remove whole FFN channels: w1, w3 rows and w2 columns (3·64 weights each).
    const ch = rows.find((r) => r.pattern === 'channels' && r.sparsity === 0.6)!;
    expect((ch.total as number) - (ch.nonzeros as number)).toBe(5 * Math.round(0.6 * 172) * 3 * 64);
    expect(s.cliffs.map((c) => `${c.method} ${c.pattern}`).sort()).toEqual([
      'magnitude channels',
      'magnitude unstructured',
      'wanda channels',
      'wanda unstructured',
    ]);
    expect(rows.filter((r) => r.cliff === 1).length).toBeLessThanOrEqual(4);
    expect(s.layers.numRows).toBe(10 * 5 * 7); // every pruned point × block × matrix
  });

  it('the sensitivity scan measures on the calibration windows and keeps the mean sparsity', async () => {
    const prepared = preparePruningText(model, tokenizer, text, { maxWindows: 1, calibrationWindows: 1 });
    const scan = await sensitivityScan(model, prepared.calibration, 0.5);
    // Its baseline is the dense loss on the calibration window, not on the scored text.
    expect(scan.denseLoss).toBe((await evaluateTokens(model, prepared.calibration[0]!)).loss);
    expect(scan.denseLoss).not.toBe((await evaluateTokens(model, prepared.tokens)).loss);
    expect(scan.sensitivities.every((x) => x > 0)).toBe(true);
    const sizes = 4 * 64 * 64 + 3 * 64 * 172; // every block has the same matrices
    expect(scan.allocation.reduce((a, b) => a + b * sizes, 0) / (5 * sizes)).toBeCloseTo(0.5, 9);
    const least = scan.sensitivities.indexOf(Math.min(...scan.sensitivities));
    expect(scan.allocation[least]).toBe(Math.max(...scan.allocation));
  });

  it('the held-out text does not influence the sensitivity allocation', async () => {
    // Same calibration text, two unrelated scored texts: the per-matrix masks must be identical.
    const calibrationText = text.slice(0, 4000);
    const masksFor = async (scored: string) => {
      const s = await pruningSweep(model, tokenizer, scored, {
        methods: ['magnitude'],
        patterns: ['unstructured'],
        sparsities: parseSparsities([0.5]),
        calibrationText,
        calibrationWindows: 1,
        maxWindows: 1,
        allocation: 'sensitivity',
      });
      return tableRows<Record<string, number>>(s.layers).map((r) => r.nonzeros);
    };
    const stories = await masksFor(text.slice(20_000, 40_000));
    const other = await masksFor('zq xv '.repeat(600) + 'The the the the. '.repeat(200));
    expect(other).toEqual(stories);
    // And the allocation is not uniform (so the comparison can tell).
    expect(new Set(stories).size).toBeGreaterThan(2);
  });

  it('refuses options it cannot honour instead of ignoring them', async () => {
    const run = (o: Parameters<typeof pruningSweep>[3]) =>
      pruningSweep(model, tokenizer, text, { maxWindows: 1, ...o });
    await expect(run({ patterns: ['channels'], allocation: 'sensitivity' })).rejects.toThrow(
      /sensitivity allocation is for the unstructured pattern only .*; got channels/,
    );
    await expect(run({ patterns: ['heads', '2:4'], allocation: 'sensitivity' })).rejects.toThrow(
      /got heads, 2:4/,
    );
    await expect(run({ methods: ['wanda'], magnitudeScope: 'global' })).rejects.toThrow(
      /global magnitude ranking is for method magnitude only .*; got wanda/,
    );
    await expect(
      pruneModel(model, {
        method: 'magnitude',
        pattern: parsePattern('2:4'),
        sparsity: 0,
        magnitudeScope: 'global',
      }),
    ).rejects.toThrow(/global magnitude ranking is for the unstructured pattern only .*; got 2:4/);
    await expect(
      pruneModel(model, {
        method: 'magnitude',
        pattern: parsePattern('heads'),
        sparsity: 0.5,
        allocation: [0.5, 0.5, 0.5, 0.5, 0.5],
      }),
    ).rejects.toThrow(/sensitivity allocation is for the unstructured pattern only/);
  });
});
