/**
 * The pruning cell kinds in Node: the sweep kind's request (choices in order, point limit, progress
 * phases) against a fake runtime, its view helpers over a small points / layers table, and the
 * schedule kind's main-thread run (staircase of the cubic schedule).
 */
import { describe, expect, it } from 'vitest';
import { gradualSchedule } from '../../../analyses/pruning/schedule';
import { pruningLayerTable, pruningPointTable } from '../../../analyses/pruning/tables';
import type { CellServices, RunContext } from '../../../app/cells/cell-kind';
import { kindOf } from '../../../app/cells/kinds';
import { pruningScheduleKind } from '../../../app/cells/pruning-schedule/pruning-schedule-kind';
import { scheduleOptions, staircase } from '../../../app/cells/pruning-schedule/schedule-data';
import { phase, pruningSweepKind } from '../../../app/cells/pruning-sweep/pruning-sweep-kind';
import { pointCount, SCHEDULE_OPTIONS, SWEEP_OPTIONS } from '../../../analyses/pruning/catalogue';
import {
  curveTable,
  denseReference,
  layerBars,
  pointChoices,
  sweepMarkers,
} from '../../../app/cells/pruning-sweep/sweep-view';
import type { CellDoc } from '../../../app/notebook/document';
import type { PruningSweepRequest } from '../../../workers/pruning-jobs';

const row = (method: string, pattern: string, sparsity: number, loss: number, cliff = 0) => ({
  method,
  pattern,
  sparsity,
  weight_sparsity: sparsity,
  loss,
  perplexity: Math.exp(loss),
  loss_increase: loss - 2,
  agreement: 1 - sparsity / 2,
  nonzeros: 100 * (1 - sparsity),
  total: 100,
  flops: 200 * (1 - sparsity),
  flops_dense: 200,
  bytes_dense: 400,
  bytes_csr: 800 * (1 - sparsity) + 40,
  bytes_nm: pattern === '2:4' ? 250 : NaN,
  cliff,
});
const points = pruningPointTable([
  row('dense', 'dense', 0, 2),
  row('magnitude', 'unstructured', 0.3, 2.01, 1),
  row('magnitude', 'unstructured', 0.5, 2.4),
  row('wanda', '2:4', 0.5, 2.2),
]);
const layers = pruningLayerTable(
  [0, 1].flatMap((layer) =>
    ['wq', 'w1'].map((matrix) => ({
      method: 'wanda',
      pattern: '2:4',
      sparsity: 0.5,
      layer,
      matrix,
      nonzeros: 5,
      total: 10,
      matrix_sparsity: 0.5,
    })),
  ),
);

describe('pruning sweep kind', () => {
  it('is registered with view params that never re-run it', () => {
    expect(kindOf('pruning-sweep')).toBe(pruningSweepKind);
    expect(kindOf('pruning-schedule')).toBe(pruningScheduleKind);
    expect(pruningSweepKind.viewParams).toEqual(
      expect.arrayContaining(['xAxis', 'yAxis', 'point', 'layer', 'matrix']),
    );
    for (const p of pruningSweepKind.viewParams!) expect(pruningSweepKind.defaults()).toHaveProperty(p);
  });

  it('sends the cell id, the choices in order and the windows; reports phases', async () => {
    let sent: PruningSweepRequest | undefined;
    const phases: (string | undefined)[] = [];
    const runtime = {
      pruningSweep: async (
        r: PruningSweepRequest,
        o: { onProgress?: (p: { done: number; total: number; label: string }) => void },
      ) => {
        sent = r;
        o.onProgress?.({ done: 1, total: 3, label: 'wanda 2:4 0.5' });
        return {
          tables: { points: new Uint8Array(1), layers: new Uint8Array(2) },
          summary: { sweepId: 's', cliffs: [] },
        };
      },
    };
    const cell: CellDoc = {
      id: 'c9',
      kind: 'pruning-sweep',
      params: {
        ...pruningSweepKind.defaults(),
        methods: ['wanda', 'magnitude'],
        patterns: ['2:4', 'unstructured'],
        sparsities: '0.5, 0.3',
        maxWindows: 1,
        calibrationWindows: 1,
      },
      inputs: {},
    } as unknown as CellDoc;
    const ctx = {
      cell,
      inputs: {
        model: { cell: { params: {} }, result: { meta: { key: 'default' }, tables: {} } },
        text: { cell: { params: { text: 'Once.', name: 'valid' } }, result: { meta: {}, tables: {} } },
      },
      signal: new AbortController().signal,
      progress: (_f: number | undefined, p?: string) => phases.push(p),
      services: { runtime } as unknown as CellServices,
    } as unknown as RunContext;
    const r = await pruningSweepKind.run!(ctx);
    expect(sent).toMatchObject({
      cellId: 'c9',
      methods: ['magnitude', 'wanda'],
      patterns: ['unstructured', '2:4'],
      sparsities: [0.5, 0.3],
      maxWindows: 1,
      calibrationWindows: 1,
      allocation: 'uniform',
      fileName: 'valid',
    });
    expect(phases).toEqual(['Dense loss…', 'Pruned 1 of 2 points (last: wanda 2:4 0.5)']);
    expect(Object.keys(r.tables)).toEqual(['points', 'layers']);
    expect(r.meta).toEqual({ sweepId: 's', cliffs: [] });

    cell.params.methods = [];
    await expect(pruningSweepKind.run!(ctx)).rejects.toThrow(/methods \(methods\): pick at least 1/);
    cell.params.methods = ['magnitude', 'x'];
    await expect(pruningSweepKind.run!(ctx)).rejects.toThrow(
      /methods \(methods\): expected items among magnitude, wanda, sparsegpt, got "x"/,
    );
    cell.params.methods = ['magnitude'];
    cell.params.sparsities = '0.5, half';
    await expect(pruningSweepKind.run!(ctx)).rejects.toThrow(
      /sparsities\[1\]: expected a number in \[0, 1\], got "half"/,
    );
    cell.params.methods = ['magnitude', 'wanda', 'sparsegpt'];
    cell.params.patterns = ['unstructured', 'channels', 'heads', '2:4'];
    cell.params.sparsities = Array.from({ length: 20 }, (_, i) => (i + 1) / 25);
    await expect(pruningSweepKind.run!(ctx)).rejects.toThrow(/183 points/);
  });

  it('counts points, filters choices and names phases', () => {
    expect(pointCount(2, ['unstructured', '2:4', '4:8'], 7)).toBe(2 * (7 + 1 + 1));
    expect(SWEEP_OPTIONS.parse({ methods: ['sparsegpt', 'magnitude', 'sparsegpt'] }).methods).toEqual([
      'magnitude',
      'sparsegpt',
    ]);
    expect(SWEEP_OPTIONS.parse({ methods: 'wanda' }).methods).toEqual(['wanda']);
    expect(phase(0, 5, 'dense')).toBe('Dense loss…');
    expect(phase(5, 5, 'done')).toBe('Done');
  });
});

describe('pruning sweep view', () => {
  it('lists the pruned points with their variant index', () => {
    expect(pointChoices(points).map((c) => [c.variant, c.label])).toEqual([
      [0, 'magnitude unstructured 30%'],
      [1, 'magnitude unstructured 50%'],
      [2, 'wanda 2:4'],
    ]);
  });

  it('builds curves without the dense row and drops points with no value on the axis', () => {
    const t = curveTable(points, 'sparsity', 'loss');
    expect(t.numRows).toBe(3);
    expect([...t.getChild('curve')!]).toEqual([
      'magnitude unstructured',
      'magnitude unstructured',
      'wanda 2:4',
    ]);
    const nm = curveTable(points, 'bytes_nm', 'agreement');
    expect(nm.numRows).toBe(1);
    expect(nm.getChild('agreement')!.get(0)).toBe(0.75);
  });

  it('marks cliffs, N:M points and the selected point', () => {
    expect(sweepMarkers(points, 'sparsity', 'loss')).toEqual([
      { x: 0.3, y: 2.01, label: 'magnitude unstructured cliff' },
      { x: 0.5, y: 2.2, label: 'wanda 2:4' },
    ]);
    expect(sweepMarkers(points, 'flops', 'loss', 1).map((m) => m.label)).toEqual([
      'magnitude unstructured cliff',
      '▸ magnitude unstructured',
      'wanda 2:4',
    ]);
    expect(denseReference('loss', { loss: 2, perplexity: 7.39 })).toBe(2);
    expect(denseReference('perplexity', { loss: 2, perplexity: 7.39 })).toBe(7.39);
    expect(denseReference('agreement', { loss: 2, perplexity: 7.39 })).toBe(1);
  });

  it("gives one point's sparsity per layer × matrix", () => {
    const t = layerBars(layers, { method: 'wanda', pattern: '2:4', sparsity: 0.5 });
    expect([...t.getChild('matrix')!]).toEqual(['L0 wq', 'L0 w1', 'L1 wq', 'L1 w1']);
    expect(layerBars(layers, { method: 'magnitude', pattern: '2:4', sparsity: 0.5 }).numRows).toBe(0);
  });
});

describe('pruning schedule kind', () => {
  it('runs in the main thread: the cubic staircase over the training steps', async () => {
    const params = { initial: 0, final: 0.8, startStep: 100, steps: 4, frequency: 50, totalSteps: 400 };
    const cell = { id: 's', kind: 'pruning-schedule', params, inputs: {} } as unknown as CellDoc;
    const r = await pruningScheduleKind.run!({ cell } as unknown as RunContext);
    const meta = r.meta as {
      trajectory: { steps: number[]; sparsity: number[] };
      stairs: { steps: number[] };
      endStep: number;
    };
    expect(meta.endStep).toBe(300);
    expect(meta.trajectory.steps).toEqual([0, 100, 150, 200, 250, 300, 400]);
    expect(meta.trajectory.sparsity.slice(0, 6)).toEqual(
      gradualSchedule({ ...params, from: 0, to: 300 }).sparsity,
    );
    expect(meta.trajectory.sparsity.at(-1)).toBe(0.8);
    expect(meta.stairs.steps).toHaveLength(2 * 7 - 1);
    await expect(
      pruningScheduleKind.run!({
        cell: { ...cell, params: { ...params, steps: 0 } },
      } as unknown as RunContext),
    ).rejects.toThrow(/steps: expected an integer ≥ 1, got 0/);
  });

  it('holds each level until the next pruning step', () => {
    expect(staircase({ steps: [0, 10, 20], sparsity: [0, 0.5, 0.6] })).toEqual({
      steps: [0, 10, 10, 20, 20],
      sparsity: [0, 0, 0.5, 0.5, 0.6],
    });
    expect(() => SCHEDULE_OPTIONS.parse({ initial: 0, final: 'x' })).toThrow(
      /final: expected a number in \[0, 1\], got "x"/,
    );
    const o = SCHEDULE_OPTIONS.parse({
      initial: 0,
      final: 0.5,
      startStep: 10,
      steps: 2,
      frequency: 5,
      totalSteps: 20,
    });
    expect(scheduleOptions(o).to).toBe(20);
  });
});
