/**
 * bench/hub-load (`npm run bench:hub-load`): a GPT-2-small-shaped checkpoint with random F16
 * weights (124 M parameters, 249 MB, written at run time) loaded by id through the local hub
 * stand-in in the built app, in headless Chromium on WebGPU (SwiftShader here): the runtime
 * worker's JS heap (V8 heap + ArrayBuffer backing stores, `Runtime.getHeapUsage` over CDP every
 * 20 ms) during the load against its largest tensor (wte: 77 MB in F16, which is how it is held,
 * 154 MB as float32), and the load time;
 * then the same in a new page, when the weights come from the browser cache. Prints one JSON
 * line. The goal: a peak of at most 1.5x the largest tensor (not the file).
 *
 *   node --import ./cli/register.mjs bench/hub-load.ts [--backend webgpu|cpu] [--layers 12]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { build, preview } from 'vite';
import { modelKind } from '../app/cells/model/model-kind';
import { NOTEBOOK_FORMAT, NOTEBOOK_VERSION, type NotebookDoc } from '../app/notebook/document';
import { encodeShareHash } from '../app/notebook/share-link';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/helpers/chromium';
import { GPT2_SMALL, writeRandomGpt2 } from '../test/helpers/hub-fixtures';
import { startHubServer } from '../test/helpers/hub-server';
import { attachWorkerHeap, freePort, type WorkerHeap } from '../test/helpers/worker-heap';

const { values: f } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgpu' },
    layers: { type: 'string', default: String(GPT2_SMALL.nLayer) },
  },
});
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-bench-hub-'));
const mb = (n: number) => Math.round(n / 1e5) / 10;

const t0 = performance.now();
const model = writeRandomGpt2(path.join(work, 'gpt2-small-f16'), { ...GPT2_SMALL, nLayer: Number(f.layers) });
const writeSeconds = (performance.now() - t0) / 1000;
const hub = await startHubServer();
hub.add('bench/gpt2-small-f16', { dir: model.dir });

const outDir = path.join(work, 'dist');
const configFile = path.join(repoRoot, 'vite.config.ts');
const root = path.join(repoRoot, 'app');
await build({ configFile, root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
const server = await preview({
  configFile,
  root,
  logLevel: 'warn',
  build: { outDir },
  preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
});
const baseUrl = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}/`;
const port = await freePort();
const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  args: [...CHROMIUM_ARGS, `--remote-debugging-port=${port}`],
  headless: true,
});

const doc: NotebookDoc = {
  format: NOTEBOOK_FORMAT,
  version: NOTEBOOK_VERSION,
  title: 'Hub load bench',
  cells: [
    { id: 'hub', kind: 'model', params: { ...modelKind.defaults(), source: 'hub', hubId: '' }, inputs: {} },
  ],
};

async function status(page: Page): Promise<string> {
  return (await page.locator('article[data-cell-kind]').first().getAttribute('data-cell-status')) ?? '';
}

async function waitSettled(page: Page): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const s = await status(page);
    if (s === 'done') return;
    if (s === 'error') {
      const why = await page.getByTestId('error').allTextContents();
      throw new Error(`the load failed: ${why.join(' | ')}`);
    }
    if (Date.now() > deadline) throw new Error(`the load did not finish (status ${s})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One load measured: start sampling, run `start`, wait for the cell, stop. */
async function measure(page: Page, heap: WorkerHeap, start: () => Promise<void>) {
  await heap.gc();
  const base = await heap.read();
  heap.start(20);
  const t = performance.now();
  await start();
  await waitSettled(page);
  const seconds = (performance.now() - t) / 1000;
  const { peak, samples } = await heap.stop();
  const above = peak.bytes - base.bytes;
  return {
    seconds: Math.round(seconds * 100) / 100,
    baselineMB: mb(base.bytes),
    peakAboveBaselineMB: mb(above),
    peakV8HeapMB: mb(peak.used),
    peakArrayBuffersMB: mb(peak.backing),
    ratioToLargestTensorF32: Math.round((above / model.largest.f32Bytes) * 1000) / 1000,
    ratioToLargestTensorStored: Math.round((above / model.largest.storedBytes) * 1000) / 1000,
    ratioToFile: Math.round((above / model.fileBytes) * 1000) / 1000,
    samples: samples.length,
  };
}

/** A page on the one-cell notebook, its backend up; returns the adapter's description. */
async function openNotebook(page: Page): Promise<string> {
  await page.goto(`${baseUrl}${f.backend === 'cpu' ? '?backend=cpu' : ''}${encodeShareHash(doc)}`);
  const desc = page.getByTestId('backend-description');
  for (let i = 0; /starting|^$/.test(((await desc.textContent()) ?? '').trim()); i++) {
    if (i > 600) throw new Error('the backend did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return ((await desc.textContent()) ?? '').trim();
}

const setId = (page: Page) => async () => {
  await page.getByTestId('hub-id').fill('bench/gpt2-small-f16');
  await page.getByTestId('hub-id').press('Enter');
};

let code = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const errors: string[] = [];
  let page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  const adapter = await openNotebook(page);
  await page.locator('summary', { hasText: 'Hub settings' }).click();
  await page.getByTestId('hub-endpoint').fill(hub.endpoint);
  await page.getByTestId('hub-endpoint').press('Enter');
  let heap = await attachWorkerHeap(port, /runtime\.worker/);
  const download = await measure(page, heap, setId(page));
  const downloaded = hub.log.filter((r) => r.method === 'GET').reduce((n, r) => n + r.bytes, 0);
  heap.close();
  await page.close();

  // Another page of the same browser profile: the weights come from the browser cache (the hub
  // answers ETag checks only); the endpoint setting is remembered.
  hub.log.length = 0;
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await openNotebook(page);
  heap = await attachWorkerHeap(port, /runtime\.worker/);
  const cached = await measure(page, heap, setId(page));
  heap.close();
  const cachedGets = hub.log.filter((r) => r.method === 'GET').length;
  console.log(
    JSON.stringify({
      bench: 'hub-load',
      backend: f.backend,
      adapter,
      model: {
        shape: `GPT-2 small, ${f.layers} layers, random F16`,
        parameters: model.parameters,
        fileMB: mb(model.fileBytes),
        largestTensor: {
          name: model.largest.name,
          storedMB: mb(model.largest.storedBytes),
          f32MB: mb(model.largest.f32Bytes),
        },
      },
      writeSeconds: Math.round(writeSeconds * 10) / 10,
      download: { ...download, downloadedMB: mb(downloaded) },
      fromCache: { ...cached, hubGets: cachedGets },
      goal: 'peak worker heap above baseline <= 1.5x the largest tensor as held (F16: ratioToLargestTensorStored)',
      pageErrors: errors,
    }),
  );
  if (errors.length > 0) code = 1;
  await context.close();
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  await browser.close();
  await server.close();
  await hub.close();
  rmSync(work, { recursive: true, force: true });
}
process.exit(code);
