/**
 * The MoE lab's jobs through the real client and API over a MessageChannel (CPU backend, the
 * bundled micro MoE): the routing report from texts and from a routing log's bytes (no model
 * needed, identical loads), the aux-free balancing job and the interventions / expert-pruning job.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRoutingLog, routingLogToParquet } from '../../analyses/moe';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { buildTokenStream, loadModelFiles } from '../../runtime';
import type { RuntimeClient } from '../../workers/runtime-client';
import { localClient } from '../helpers/local-runtime';

const root = path.resolve(import.meta.dirname, '../..');
const models = path.join(root, 'public/models');
const text = (d: string) =>
  readFileSync(path.join(models, 'corpus', `valid-${d}.txt`), 'utf8')
    .split('\n<|endoftext|>\n')
    .slice(0, 2)
    .join('\n<|endoftext|>\n');
const files = () =>
  ['config.json', 'model.safetensors', 'tokenizer.bin'].map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(path.join(models, 'sparsebook-moe-micro', name))),
  }));

let client: RuntimeClient;
beforeAll(async () => {
  client = await localClient();
  await client.load({
    key: 'moe',
    files: files().map((f) => ({ name: f.name, bytes: f.bytes.slice().buffer })),
  });
}, 60_000);
afterAll(() => client.dispose());

describe('MoE lab jobs', () => {
  it('routing report from texts: every table, and the same loads from a routing log without the model', async () => {
    const domains = [
      { domain: 'code', text: text('code') },
      { domain: 'email', text: text('email') },
    ];
    const progress: number[] = [];
    const r = await client.moeLab(
      { source: { kind: 'texts', domains, maxTokensPerDomain: 300 }, mapTokens: 40 },
      { model: 'moe', onProgress: (p) => progress.push(p.done) },
    );
    expect(progress.at(-1)).toBe(4); // 2 windows of 256 per domain
    const report = r.summary.report;
    expect(report.tokens).toBe(600);
    expect(report.coactivation).toHaveLength(4);
    expect(r.summary.pieces).toHaveLength(40);
    expect(tableFromIPC(r.tables.coactivation).numRows).toBe(4 * 8 * 8);
    expect(tableFromIPC(r.tables.tokenExpert).numRows).toBe(40 * 4);
    expect(tableFromIPC(r.tables.balance).numRows).toBe(4);
    expect(tableFromIPC(r.tables.usage).numRows).toBe(4 * 2 * 8);

    // The same routing as a Parquet log, analysed in the worker with no model.
    const loaded = loadModelFiles(createCpuBackend(), files(), { source: 'micro' });
    const streams = domains.map((d) => {
      const s = buildTokenStream(loaded.tokenizer, d.text, d.domain);
      return { domain: d.domain, tokens: s.tokens, documentStarts: s.documentStarts };
    });
    const log = await collectRoutingLog(loaded.model, streams, { maxTokensPerDomain: 300 });
    const parts = routingLogToParquet(log, { maxRowsPerFile: 1000 });
    const fromLog = await client.moeLab({
      source: { kind: 'log-files', files: parts.map((bytes, i) => ({ name: `part-${i}.parquet`, bytes })) },
    });
    expect(fromLog.summary.report.layers.map((l) => l.load)).toEqual(report.layers.map((l) => l.load));
    // The log's router probabilities come from the TypeScript kernels, the worker's from its
    // WebAssembly ones: the same to float32 precision.
    expect(fromLog.summary.report.lbl_micro).toBeCloseTo(report.lbl_micro!, 7);
    expect(fromLog.summary.pieces[0]).toMatch(/^#\d+$/);
  });

  it('aux-free balancing lowers max/mean load and reports the loss with the biases', async () => {
    const r = await client.moeBalance(
      { text: text('email'), maxTokens: 600, rate: 0.002, stepTokens: 32, epochs: 3 },
      { model: 'moe' },
    );
    expect(r.summary.maxOverMeanAfter).toBeLessThan(r.summary.maxOverMeanBefore);
    expect(r.summary.lossAfter).not.toBe(r.summary.lossBefore);
    expect(tableFromIPC(r.tables.steps).numRows).toBe(4 * Math.ceil(600 / 32) * 3);
  });

  it('interventions change the loss; the pruning sweep starts at the plain model', async () => {
    const r = await client.moeInterventions(
      {
        text: text('email'),
        interventions: { disabledExperts: [3] },
        pruning: { by: 'frequency', drops: [0, 3], calibrationText: text('code') },
      },
      { model: 'moe' },
    );
    expect(r.summary.lossIntervened).toBeGreaterThan(r.summary.lossBase);
    const points = r.summary.pruning!.points;
    expect(points[0]!.loss).toBeCloseTo(r.summary.lossBase, 9);
    expect(points[1]!.loss).toBeGreaterThan(points[0]!.loss);
    expect(tableFromIPC(r.tables.pruning!).numRows).toBe(2);
  });
});
