/**
 * The pruning cells' worker jobs on stories260K (CPU backend): a tiny sweep returns the points and
 * layers tables and keeps its variants per cell; a kept point's matrix comes back with its mask
 * and pruned values (2:4 groups hold exactly 2 kept weights) without pruning again; the export
 * gives plausible files; stale sweeps, bad requests and cancellation fail clearly. One sweep also
 * goes through the real client and API over a MessageChannel.
 */
import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readTensorTable } from '../../runtime/tensor-table';
import {
  MAX_KEPT_SWEEPS,
  PruningStore,
  pruningExportJob,
  pruningMaskJob,
  pruningSweepJob,
  type PruningSweepRequest,
} from '../../workers/pruning-jobs';
import { storiesClient } from '../helpers/local-runtime';
import { readShared, sharedPath, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';
import { parseSparsities } from '../../analyses/pruning/sparsities';
import { loadStories260K } from '../helpers/stories260k';

const { model, tokenizer } = loadStories260K();
const text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
  .split('<|endoftext|>')
  .slice(0, 30)
  .join('<|endoftext|>');

const tiny = (over: Partial<PruningSweepRequest> = {}): PruningSweepRequest => ({
  cellId: 'c1',
  text,
  methods: ['magnitude', 'wanda'],
  patterns: ['unstructured', '2:4'],
  sparsities: parseSparsities([0.5]),
  calibrationWindows: 1,
  maxWindows: 1,
  allocation: 'uniform',
  ...over,
});

describe('pruning jobs', () => {
  const store = new PruningStore();

  it('sweeps, keeps the variants, serves masks and exports without pruning again', async () => {
    const seen: string[] = [];
    const r = await pruningSweepJob(model, tokenizer, store, tiny(), {
      onProgress: (p) => seen.push(`${p.done}/${p.total} ${p.label}`),
    });
    // dense + (magnitude, wanda) × (unstructured 0.5, 2:4)
    expect(r.points.numRows).toBe(5);
    expect(r.summary.variants).toBe(4);
    expect(r.summary.nLayers).toBe(5);
    expect(seen[0]).toBe('0/5 dense');
    expect(seen.at(-1)).toBe('5/5 done');
    expect(r.layers.numRows).toBe(4 * 5 * 7);
    const methods = [...r.points.getChild('method')!].map(String);
    const patterns = [...r.points.getChild('pattern')!].map(String);
    expect(methods[0]).toBe('dense');
    expect(r.points.getChild('loss')!.get(0)).toBeCloseTo(r.summary.dense.loss, 10);
    expect(r.summary.cliffs.map((c) => `${c.method} ${c.pattern}`).sort()).toEqual([
      'magnitude unstructured',
      'wanda unstructured',
    ]);
    expect(r.summary.calibration.windows).toBe(1);
    expect(JSON.parse(JSON.stringify(r.summary))).toEqual(r.summary);

    // The 2:4 wanda point: find its variant index (row − 1).
    const row = methods.findIndex((m, i) => m === 'wanda' && patterns[i] === '2:4');
    const request = { cellId: 'c1', sweepId: r.summary.sweepId, variant: row - 1 };
    const t0 = performance.now();
    const m = await pruningMaskJob(store, { ...request, layer: 1, matrix: 'w1' });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(m.summary).toMatchObject({ method: 'wanda', pattern: '2:4', n: 2, m: 4, pruned: true });
    const dense = readTensorTable(m.dense);
    const mask = readTensorTable(m.mask);
    const pruned = readTensorTable(m.pruned);
    const [rows, cols] = dense.shape as [number, number];
    expect(mask.shape).toEqual([rows, cols]);
    expect(dense.data).toEqual(await model.readWeight(1, 'w1'));
    for (let i = 0; i < rows * cols; i += 4) {
      expect(mask.data[i]! + mask.data[i + 1]! + mask.data[i + 2]! + mask.data[i + 3]!).toBe(2);
    }
    for (let i = 0; i < rows * cols; i++) expect(pruned.data[i]).toBe(mask.data[i] ? dense.data[i] : 0);
    expect(m.summary.nonzeros).toBe((rows * cols) / 2);

    const files = await pruningExportJob(store, request);
    expect(files.baseName).toBe('stories260K-wanda-2of4-50');
    // 260K f32 parameters ≈ 1 MB.
    expect(files.modelBin?.length).toBeGreaterThan(900_000);
    expect(files.modelSafetensors.length).toBeGreaterThan(900_000);
    expect(files.masksSafetensors.length).toBeGreaterThan(100_000);
    expect(JSON.parse(files.configJson)).toHaveProperty('hidden_size', 64);
  }, 60_000);

  it('refuses stale sweeps, bad points and bad requests, and stops when aborted', async () => {
    const other = new PruningStore();
    const id = other.keep('c1', { model, variants: [] });
    await expect(
      pruningMaskJob(other, { cellId: 'c1', sweepId: 'old', variant: 0, layer: 0, matrix: 'wq' }),
    ).rejects.toThrow(/run the cell again/);
    await expect(
      pruningMaskJob(other, { cellId: 'c2', sweepId: id, variant: 0, layer: 0, matrix: 'wq' }),
    ).rejects.toThrow(/run the cell again/);
    await expect(pruningExportJob(other, { cellId: 'c1', sweepId: id, variant: 0 })).rejects.toThrow(
      /point must be/,
    );
    for (let i = 0; i < MAX_KEPT_SWEEPS + 2; i++) other.keep(`x${i}`, { model, variants: [] });
    expect(other.size).toBe(MAX_KEPT_SWEEPS);
    other.dropModel(model);
    expect(other.size).toBe(0);

    await expect(pruningSweepJob(model, tokenizer, store, tiny({ maxWindows: 0 }))).rejects.toThrow(
      /eval windows/,
    );
    await expect(pruningSweepJob(model, tokenizer, store, tiny({ methods: ['prune-it'] }))).rejects.toThrow(
      /unknown pruning method/,
    );
    await expect(pruningSweepJob(model, tokenizer, store, tiny({ patterns: ['5:4'] }))).rejects.toThrow(
      /N must not exceed M/,
    );
    const c = new AbortController();
    c.abort(new DOMException('cancelled', 'AbortError'));
    await expect(
      pruningSweepJob(model, tokenizer, store, tiny({ methods: ['magnitude'] }), { signal: c.signal }),
    ).rejects.toThrow(/cancelled/);
  });

  it('goes through the client and API: sweep, mask, export', async () => {
    const client = await storiesClient();
    try {
      const progress: number[] = [];
      const r = await client.pruningSweep(tiny({ methods: ['magnitude'], patterns: ['2:4'] }), {
        onProgress: (p) => progress.push(p.done),
      });
      expect(progress).toEqual([0, 1, 2]);
      expect(tableFromIPC(r.tables.points).numRows).toBe(2);
      expect(tableFromIPC(r.tables.layers).numRows).toBe(35);
      const request = { cellId: 'c1', sweepId: r.summary.sweepId, variant: 0 };
      const m = await client.pruningMask({ ...request, layer: 0, matrix: 'wo' });
      expect(readTensorTable(tableFromIPC(m.tables.mask)).shape).toEqual([64, 64]);
      const { summary: files } = await client.pruningExport(request);
      expect(files.modelBin?.length).toBeGreaterThan(900_000);
      // Reloading the model forgets its sweeps.
      await client.load({
        files: [
          { name: 'stories260K.bin', bytes: readShared(STORIES260K) },
          { name: 'tok512.bin', bytes: readShared(TOK512) },
        ],
      });
      await expect(client.pruningMask({ ...request, layer: 0, matrix: 'wo' })).rejects.toThrow(
        /run the cell again/,
      );
    } finally {
      client.dispose();
    }
  }, 60_000);
});
