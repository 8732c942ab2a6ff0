/**
 * bench/forward-chromium: `bench:forward --peer ort` inside Chromium (where the app runs): the page
 * bench/chromium/forward.html, served by Vite with COOP/COEP (cross-origin isolated, as the app
 * is served), times Sparsebook CPU, Sparsebook WebGPU, ORT wasm and ORT webgpu on the same 512
 * tokens of stories260K and returns one JSON object, printed as one line ending with the ratios and
 * the oracle diff, like the Node bench. ORT wasm runs on as many threads as the CPU backend really
 * got: on a page's main thread that is one (Atomics.wait is not allowed there; the app runs the
 * CPU backend in a worker), whatever `--threads` asks.
 *
 *   node --import ./cli/register.mjs bench/forward-chromium.ts [--tokens 512 --reps 3 --threads N]
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/helpers/chromium';
import type { PageOptions } from './chromium/forward-page';

const root = path.resolve(import.meta.dirname, '..');
const shared = process.env.SPARSEBOOK_SHARED ?? path.resolve(root, '../shared');
const { values: f } = parseArgs({
  options: {
    tokens: { type: 'string', default: '512' },
    reps: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
  },
});

const server = await createServer({
  root,
  configFile: false,
  logLevel: 'error',
  server: {
    port: 0,
    host: '127.0.0.1',
    fs: { allow: [root, shared] },
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
await server.listen();
const url = server.resolvedUrls!.local[0]!;
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${url}bench/chromium/forward.html`);
  await page.waitForFunction(() => 'runForwardBench' in window, undefined, { timeout: 120_000 });
  const opts: PageOptions = {
    sharedUrl: `/@fs${shared}`,
    tokens: Number(f.tokens),
    reps: Number(f.reps),
    threads: Number(f.threads),
  };
  const { bench, ...rest } = await page.evaluate(
    (o) =>
      (
        window as unknown as { runForwardBench(o: PageOptions): Promise<Record<string, unknown>> }
      ).runForwardBench(o),
    opts,
  );
  // The ratios and the oracle diff stay last, as in the Node bench's line.
  console.log(JSON.stringify({ bench, chromium: browser.version(), ...rest }));
} finally {
  await browser.close();
  await server.close();
}
process.exit(0);
