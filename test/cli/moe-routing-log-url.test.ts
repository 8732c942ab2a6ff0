/**
 * Routing logs read from URLs, as from a server holding a big model's logs: `moe-stats
 * --routing-log URL` (and the worker's log-urls source) read the Parquet parts by Range requests —
 * never a whole-file GET — and give the same loads as the local files.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRoutingLog, expertLoad, routingLogToParquet, type RoutingLog } from '../../analyses/moe';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { buildTokenStream, loadModelFiles } from '../../runtime';
import { moeLabJob } from '../../workers/moe-lab-jobs';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const root = path.resolve(import.meta.dirname, '../..');
const micro = path.join(root, 'public/models/sparsebook-moe-micro');
let hub: HubServer;
let log: RoutingLog;
let urls: string[];

function sparsebook(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(root, 'cli/bin.mjs'), ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  const files = await Promise.all(
    ['config.json', 'model.safetensors', 'tokenizer.bin'].map(async (name) => ({
      name,
      bytes: new Uint8Array(await readFile(path.join(micro, name))),
    })),
  );
  const loaded = loadModelFiles(createCpuBackend(), files, { source: 'micro' });
  const text = (await readFile(path.join(root, 'public/models/corpus/valid-code.txt'), 'utf8')).slice(
    0,
    6000,
  );
  const s = buildTokenStream(loaded.tokenizer, text, 'code');
  log = await collectRoutingLog(loaded.model, [
    { domain: 'code', tokens: s.tokens, documentStarts: s.documentStarts },
  ]);
  const dir = mkdtempSync(path.join(tmpdir(), 'routing-url-'));
  routingLogToParquet(log, { maxRowsPerFile: 4000 }).forEach((bytes, i) =>
    writeFileSync(path.join(dir, `part-${i}.parquet`), bytes),
  );
  hub = await startHubServer();
  hub.add('logs/micro', { dir });
  const n = Math.ceil((log.tokenId.length * 4) / 4000);
  urls = Array.from({ length: n }, (_, i) => `${hub.endpoint}/logs/micro/resolve/main/part-${i}.parquet`);
}, 120_000);

afterAll(async () => {
  await hub?.close();
});

describe('routing logs from URLs', () => {
  it('moe-stats --routing-log URL reads by Range requests and gives the local loads', async () => {
    expect(urls.length).toBeGreaterThan(1);
    const r = await sparsebook(['moe-stats', ...urls.flatMap((u) => ['--routing-log', u]), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      tokens: number;
      log_layers: { expert_load: number[] }[];
    };
    expect(j.tokens).toBe(log.tokenId.length);
    j.log_layers.forEach((l, i) => expect(l.expert_load).toEqual(Array.from(expertLoad(log, i))));
    const gets = hub.log.filter((q) => q.method === 'GET');
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((q) => q.range !== undefined && q.status === 206)).toBe(true);
  });

  it('the worker job reads the same URLs without a model', async () => {
    hub.log.length = 0;
    const r = await moeLabJob(
      undefined,
      { source: { kind: 'log-urls', urls } },
      { signal: new AbortController().signal, onProgress: () => {} },
    );
    expect(r.summary.report.tokens).toBe(log.tokenId.length);
    expect(hub.log.filter((q) => q.method === 'GET').every((q) => q.range !== undefined)).toBe(true);
  });
});
