/**
 * The attention cells' worker jobs on stories260K (CPU backend): probe tables have one row per
 * head and masses in range; mask jobs return [T, T] pattern and mask tables, per-head density and
 * recall that follow the budget; the channel family says where it was calibrated; cancellation and
 * bad requests fail clearly. One job also goes through the real client and API over a MessageChannel.
 */
import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readTensorTable } from '../../runtime/tensor-table';
import { maskJob, probeJob, sweepJob, MASK_HEAD_COLUMNS } from '../../workers/attention-jobs';
import { storiesClient } from '../helpers/local-runtime';
import { sharedPath, TINYSTORIES_VALID } from '../helpers/shared-paths';
import { loadStories260K } from '../helpers/stories260k';

const { model, tokenizer } = loadStories260K();
const docs = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8').split('<|endoftext|>').slice(0, 6);
const text = docs.join('<|endoftext|>');

describe('probeJob', () => {
  it('returns one head row per layer × head, positions, a summary and progress per window', async () => {
    const seen: number[] = [];
    const r = await probeJob(
      model,
      tokenizer,
      { text, maxWindows: 2 },
      { onProgress: (p) => seen.push(p.done) },
    );
    expect(seen).toEqual([0, 1, 2]);
    expect(r.summary).toMatchObject({ windows: 2, nLayers: 5, nHeads: 8, tokens: 1024 });
    expect(r.heads.numRows).toBe(40);
    expect(r.positions.numRows).toBe(40 * 512);
    for (const name of ['entropy', 'sink_mass', 'mean_distance', 'k90', 'vertical', 'slash']) {
      const col = r.heads.getChild(name)!.toArray() as Float32Array;
      expect(col.length).toBe(40);
      for (const v of col) expect(Number.isFinite(v) && v >= 0).toBe(true);
    }
    for (const v of r.heads.getChild('sink_mass')!.toArray() as Float32Array)
      expect(v).toBeLessThanOrEqual(1);
    for (const h of r.summary.sinkHeads) expect(h.sinkMass).toBeGreaterThan(0.5);
  }, 60_000);

  it('refuses a bad window count and stops when aborted', async () => {
    await expect(probeJob(model, tokenizer, { text, maxWindows: 0 })).rejects.toThrow(/maxWindows/);
    const c = new AbortController();
    c.abort(new DOMException('cancelled', 'AbortError'));
    await expect(probeJob(model, tokenizer, { text, maxWindows: 1 }, { signal: c.signal })).rejects.toThrow(
      /cancelled/,
    );
  });
});

describe('maskJob', () => {
  const doc = docs[0]!;

  it('returns the head pattern and mask [T, T] and per-head density/recall in [0, 1]', async () => {
    const r = await maskJob(model, tokenizer, { text: doc, family: 'topk', budget: 0.25, layer: 1, head: 3 });
    const T = r.summary.T;
    expect(T).toBeGreaterThan(50);
    const p = readTensorTable(r.pattern);
    const m = readTensorTable(r.mask);
    expect(p.shape).toEqual([T, T]);
    expect(m.shape).toEqual([T, T]);
    // rows of the pattern sum to 1; the mask keeps the diagonal and nothing above it
    for (const i of [0, T >> 1, T - 1]) {
      let sum = 0;
      for (let j = 0; j < T; j++) sum += p.data[i * T + j]!;
      expect(sum).toBeCloseTo(1, 4);
      expect(m.data[i * T + i]).toBe(1);
      if (i + 1 < T) expect(m.data[i * T + i + 1]).toBe(0);
    }
    expect(r.heads.numRows).toBe(8);
    const density = r.heads.getChild(MASK_HEAD_COLUMNS.density)!.toArray() as Float32Array;
    const recall = r.heads.getChild(MASK_HEAD_COLUMNS.recall)!.toArray() as Float32Array;
    for (let h = 0; h < 8; h++) {
      expect(Math.abs(density[h]! - 0.25)).toBeLessThan(0.02);
      expect(recall[h]).toBeGreaterThan(density[h]!); // top-k keeps more mass than its share
      expect(recall[h]).toBeLessThanOrEqual(1 + 1e-6);
    }
    expect(r.summary.headDensity).toBeCloseTo(density[3]!, 5);
    expect(r.tokens.numRows).toBe(T);
    expect(r.tokens.getChild('token')!.get(0)).toBe('<s>');
    expect(r.summary.calibration).toBe('none');
  });

  it('keeps more with a larger budget, and budget 1 keeps everything', async () => {
    const at = (budget: number) =>
      maskJob(model, tokenizer, { text: doc, family: 'window-sink', budget, layer: 0, head: 0 });
    const [small, large, full] = await Promise.all([at(0.1), at(0.5), at(1)]);
    expect(small.summary.density).toBeLessThan(large.summary.density);
    expect(small.summary.recall).toBeLessThan(large.summary.recall);
    expect(full.summary.density).toBe(1);
    expect(full.summary.recall).toBeCloseTo(1, 5);
  });

  it('calibrates the channel family on other documents, or on the first half of the document', async () => {
    const base = { text: doc, family: 'channel', budget: 0.3, layer: 2, head: 0 };
    const held = await maskJob(model, tokenizer, { ...base, calibrationText: docs.slice(1).join('\n') });
    expect(held.summary.calibration).toBe('other documents');
    const self = await maskJob(model, tokenizer, base);
    expect(self.summary.calibration).toBe('first half of the document');
    expect(Math.abs(held.summary.density - 0.3)).toBeLessThan(0.02);
  });

  it('names bad requests', async () => {
    const base = { text: doc, family: 'topk', budget: 0.25, layer: 0, head: 0 };
    await expect(maskJob(model, tokenizer, { ...base, family: 'nope' })).rejects.toThrow(
      /known: window-sink/,
    );
    await expect(maskJob(model, tokenizer, { ...base, layer: 5 })).rejects.toThrow(/layer must be/);
    await expect(maskJob(model, tokenizer, { ...base, head: 8 })).rejects.toThrow(/head must be/);
    await expect(maskJob(model, tokenizer, { ...base, family: 'hip', budget: 4 })).rejects.toThrow(/budget/);
    await expect(maskJob(model, tokenizer, { ...base, text: '' })).rejects.toThrow(/empty/);
  });
});

describe('sweepJob', () => {
  it('returns one curve point per family × budget; budget 1 reproduces the dense loss', async () => {
    const progress: number[] = [];
    const r = await sweepJob(
      model,
      tokenizer,
      { text, families: ['topk', 'window-sink'], budgets: [0.25, 1], maxWindows: 1 },
      { onProgress: (p) => progress.push(p.done) },
    );
    expect(r.points.numRows).toBe(4);
    // Per point, one row per layer × head (5 × 8): what the cell's best-config export reads.
    expect(r.heads.numRows).toBe(4 * 40);
    expect(progress.at(-1)).toBe(4);
    for (const name of ['density', 'recall', 'loss', 'loss_increase', 'attn_flops', 'kv_bytes'])
      expect(r.points.getChild(name)).not.toBeNull();
    const rows = r.points.toArray().map((x) => x.toJSON() as Record<string, number>);
    for (const row of rows) {
      if (row.budget === 1) expect(Math.abs(row.loss! - r.summary.denseLoss)).toBeLessThan(1e-5);
      else expect(row.density).toBeLessThan(0.3);
    }
    expect(r.summary.windows).toBe(1);
    await expect(
      sweepJob(model, tokenizer, { text, families: [], budgets: [0.5], maxWindows: 1 }),
    ).rejects.toThrow(/at least one/);
  }, 60_000);
});

describe('through the runtime client', () => {
  it('sends probe tables as IPC bytes with progress, and mask tables', async () => {
    const client = await storiesClient();
    try {
      const progress: number[] = [];
      const r = await client.attentionProbes(
        { text, maxWindows: 1 },
        { onProgress: (p) => progress.push(p.done) },
      );
      expect(progress).toEqual([0, 1]);
      expect(tableFromIPC(r.tables.heads).numRows).toBe(40);
      expect(r.summary.windows).toBe(1);
      const m = await client.attentionMask({
        text: docs[0]!,
        family: 'block',
        budget: 0.5,
        layer: 0,
        head: 1,
      });
      expect(readTensorTable(tableFromIPC(m.tables.mask)).shape).toEqual([m.summary.T, m.summary.T]);
      expect(tableFromIPC(m.tables.heads).numRows).toBe(8);
    } finally {
      client.dispose();
    }
  }, 60_000);
});
