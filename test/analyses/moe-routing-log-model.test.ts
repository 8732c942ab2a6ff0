/**
 * Routing logs recorded from the bundled micro-balanced MoE (CPU backend): they agree with the
 * routing statistics gathered by the existing hook path, survive a Parquet round trip (one file or
 * split into several) bit for bit, and bad files are refused with the file named.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parquetMetadata, type AsyncBuffer } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import {
  collectRouting,
  collectRoutingLog,
  expertLoad,
  readRoutingLog,
  routingLogToParquet,
  summarizeRouting,
  type RoutingLog,
} from '../../analyses/moe';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { buildTokenStream, loadModelFiles } from '../../runtime';
import type { LlamaModel } from '../../runtime/model/llama';

const root = path.resolve(import.meta.dirname, '../..');
const modelDir = path.join(root, 'public/models/sparsebook-moe-micro');
const corpus = path.join(root, 'public/models/corpus');

function buffer(bytes: Uint8Array): AsyncBuffer {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { byteLength: ab.byteLength, slice: (s, e) => ab.slice(s, e) };
}

let model: LlamaModel;
let streams: { domain: string; tokens: Int32Array; documentStarts: number[] }[];
let log: RoutingLog;

beforeAll(async () => {
  const names = ['config.json', 'model.safetensors', 'tokenizer.bin'];
  const files = await Promise.all(
    names.map(async (name) => ({ name, bytes: new Uint8Array(await readFile(path.join(modelDir, name))) })),
  );
  const loaded = loadModelFiles(createCpuBackend(), files, { source: 'sparsebook-moe-micro' });
  model = loaded.model;
  streams = await Promise.all(
    ['code', 'email'].map(async (domain) => {
      const text = await readFile(path.join(corpus, `valid-${domain}.txt`), 'utf8');
      const s = buildTokenStream(loaded.tokenizer, text, `valid-${domain}.txt`);
      // Two windows and a bit per domain: the document boundaries inside windows are exercised.
      const n = 2 * model.config.seqLen + 37;
      return { domain, tokens: s.tokens.slice(0, n), documentStarts: s.documentStarts.filter((d) => d < n) };
    }),
  );
  log = await collectRoutingLog(model, streams);
}, 120_000);

describe('routing logs of the bundled micro MoE', () => {
  it('records every token once with positions restarting at each document', () => {
    const T = streams.reduce((n, s) => n + s.tokens.length, 0);
    expect(log.tokenId.length).toBe(T);
    expect(log.layers).toHaveLength(4);
    expect(log.domains).toEqual(['code', 'email']);
    const firstEmail = streams[0]!.tokens.length;
    expect(log.position[firstEmail]).toBe(0);
    const starts = streams[0]!.documentStarts;
    expect(starts.length).toBeGreaterThan(1);
    expect(log.position[starts[1]!]).toBe(0);
    expect(log.position[starts[1]! - 1]).toBe(starts[1]! - 1 - starts[0]!);
    // Gates of a top-2 router with renormalised gates sum to 1 per token.
    const g = log.layers[0]!.gates;
    expect(g[0]! + g[1]!).toBeCloseTo(1, 5);
  });

  it('gives the same expert load and router entropy as the routing-count path', async () => {
    const summary = summarizeRouting(await collectRouting(model, streams));
    for (let l = 0; l < 4; l++) {
      const load = Array.from(expertLoad(log, l));
      summary.layers[l]!.load.forEach((x, e) => expect(load[e]).toBeCloseTo(x, 12));
    }
  });

  it('survives a Parquet round trip, as one file and split into several', async () => {
    const [one] = routingLogToParquet(log);
    const meta = parquetMetadata(
      one!.buffer.slice(one!.byteOffset, one!.byteOffset + one!.byteLength) as ArrayBuffer,
    );
    expect(meta.schema.map((s) => s.name)).toEqual(
      expect.arrayContaining(['document', 'experts', 'router_logits', 'domain']),
    );
    const back = await readRoutingLog([{ name: 'one.parquet', buffer: buffer(one!) }]);
    expectSameLog(back, log);
    const parts = routingLogToParquet(log, { maxRowsPerFile: 1000 });
    expect(parts.length).toBeGreaterThan(2);
    // Order of the files does not matter: rows are ordered by (document, position).
    const split = await readRoutingLog(
      parts.map((p, i) => ({ name: `part-${i}.parquet`, buffer: buffer(p) })).reverse(),
    );
    expectSameLog(split, log);
  });

  it('refuses files that are not a consistent routing log, naming the file', async () => {
    const parts = routingLogToParquet(log, { maxRowsPerFile: 1000 });
    const missing = parts.slice(1).map((p, i) => ({ name: `part-${i + 1}.parquet`, buffer: buffer(p) }));
    // The first file's tokens are gone: document 0 starts at a later position.
    await expect(readRoutingLog(missing)).rejects.toThrow(
      /routing log .*part-1\.parquet.*: document 0 starts at position \d+, not 0/,
    );
    const twice = [parts[0]!, parts[0]!].map((p, i) => ({ name: `copy-${i}.parquet`, buffer: buffer(p) }));
    await expect(readRoutingLog(twice)).rejects.toThrow(
      /copy-1\.parquet row 0: layer 0 of document 0 position 0 is logged twice/,
    );
    const other = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'x', data: Int32Array.of(1) }] }));
    await expect(readRoutingLog([{ name: 'x.parquet', buffer: buffer(other) }])).rejects.toThrow(
      /x\.parquet: not a routing log — it has no "document" column/,
    );
  });
});

function expectSameLog(a: RoutingLog, b: RoutingLog): void {
  expect(a.nExperts).toBe(b.nExperts);
  expect(a.topK).toBe(b.topK);
  expect(a.domains).toEqual(b.domains);
  expect(a.layerIds).toEqual(b.layerIds);
  for (const key of ['document', 'position', 'tokenId', 'domain'] as const) expect(a[key]).toEqual(b[key]);
  a.layers.forEach((l, i) => {
    expect(l.experts).toEqual(b.layers[i]!.experts);
    expect(l.gates).toEqual(b.layers[i]!.gates);
    expect(l.logits).toEqual(b.layers[i]!.logits);
  });
}
