/**
 * The first page end to end: build the app with the repo's vite.config.ts, serve it with
 * `vite preview`, drive Debian's Chromium through playwright-core. Loads stories260K + tok512
 * through the file inputs on WebGPU (SwiftShader adapter; a missing adapter FAILS, never falls
 * back), runs a prompt, checks the three results, cancels a long generation, loads a broken file;
 * then the same flow on the CPU backend, and a load from `?model=…&tokenizer=…` URLs.
 * Screenshots go to test-artifacts/e2e/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview, type PreviewServer } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium';
import { sharedPath, STORIES260K, TOK512 } from '../helpers/shared-paths';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = path.join(repoRoot, 'test-artifacts/e2e');
const PROMPT = 'Once upon a time';
const GREEDY_START = 'Once upon a time, there was a little girl named Lily';

let outDir: string;
let server: PreviewServer;
let browser: Browser;
let baseUrl: string;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  outDir = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-e2e-'));
  const configFile = path.join(repoRoot, 'vite.config.ts');
  const root = path.join(repoRoot, 'app');
  await build({ configFile, root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  server = await preview({
    configFile,
    root,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const address = server.httpServer.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${address.port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** A page at 1360×900 that records uncaught errors (the test fails on any). */
async function openPage(query = ''): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(baseUrl + query);
  return { page, errors };
}

async function expectBackend(page: Page, pattern: RegExp): Promise<string> {
  const description = page.getByTestId('backend-description');
  // A missing adapter shows a WebGpuUnavailableError here instead: fail with its text.
  await page.waitForFunction(
    (re) => {
      const d = document.querySelector('[data-testid="backend-description"]')?.textContent ?? '';
      return new RegExp(re).test(d) || document.querySelector('[data-testid="error"]') !== null;
    },
    pattern.source,
    { timeout: 60_000 },
  );
  const errors = await page.getByTestId('error').allTextContents();
  expect(errors, 'backend start failed').toEqual([]);
  const text = (await description.textContent())?.trim() ?? '';
  expect(text).toMatch(pattern);
  return text;
}

async function loadFiles(page: Page): Promise<void> {
  await page.locator('input[name="model-file"]').setInputFiles(sharedPath(STORIES260K));
  await page.locator('input[name="tokenizer-file"]').setInputFiles(sharedPath(TOK512));
  await page.getByRole('button', { name: 'Load files' }).click();
  await waitStatus(page, 'load-status', 'done', 60_000);
}

async function waitStatus(page: Page, testid: string, status: string, timeout = 90_000): Promise<void> {
  const el = page.getByTestId(testid);
  await expect
    .poll(async () => el.getAttribute('data-status'), { timeout, interval: 100 })
    .toMatch(new RegExp(`^${status}$|^error$`));
  const actual = await el.getAttribute('data-status');
  if (actual !== status) {
    const shown = await page.getByTestId('error').allTextContents();
    throw new Error(`${testid} is "${actual}", expected "${status}": ${shown.join(' | ')}`);
  }
}

async function runPrompt(page: Page, steps: number, temperature = 0): Promise<void> {
  await page.getByRole('textbox', { name: 'Prompt' }).fill(PROMPT);
  await page.getByLabel('Tokens to generate').fill(String(steps));
  await page.getByLabel('Temperature (0 = greedy)').fill(String(temperature));
  await page.getByRole('button', { name: 'Run' }).click();
}

async function checkShape(page: Page, backend: 'WebGPU' | 'CPU'): Promise<void> {
  const value = (key: string) => page.getByTestId(`shape-${key}`).textContent();
  expect(await value('layers')).toBe('5');
  expect(await value('heads')).toBe('8');
  expect(await value('kv-heads')).toBe('4');
  expect(await value('dim')).toBe('64');
  expect(await value('vocab')).toBe('512');
  expect(await value('seq-len')).toBe('512');
  expect(await value('parameters')).toMatch(/^\d+K$/);
  expect(await value('backend')).toBe(backend);
}

/** The assertions on a finished greedy run of PROMPT. */
async function checkResults(page: Page): Promise<void> {
  const rows = page.getByTestId('next-token-row');
  expect(await rows.count()).toBe(10);
  const probs = (await rows.evaluateAll((els) =>
    els.map((e) => Number(e.getAttribute('data-probability'))),
  )) as number[];
  for (let i = 1; i < probs.length; i++) expect(probs[i]!).toBeLessThanOrEqual(probs[i - 1]!);
  expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
  expect(probs[0]!).toBeGreaterThan(0);

  const chips = (await page.getByTestId('token-chip').allTextContents()).map((t) => t.replaceAll('·', ' '));
  expect(chips[0]).toBe('<s>');
  expect(chips.slice(1).join('')).toBe(PROMPT);

  const text = await page.getByTestId('generation-text').innerText();
  expect(text.startsWith(GREEDY_START), `generated: ${JSON.stringify(text)}`).toBe(true);
}

describe('first page', () => {
  it('runs stories260K on WebGPU: next token, token loss, generation, cancel, bad file', async () => {
    const { page, errors } = await openPage();
    expect(await page.evaluate(() => 'gpu' in navigator && !!navigator.gpu)).toBe(true);
    const description = await expectBackend(page, /WebGPU/);
    expect(description).toMatch(/^WebGPU \(/);
    await page.screenshot({ path: path.join(artifacts, 'webgpu-start.png'), fullPage: true });
    await loadFiles(page);
    await checkShape(page, 'WebGPU');

    await runPrompt(page, 30);
    await waitStatus(page, 'gen-status', 'done');
    await checkResults(page);
    await page.getByTestId('token-chip').nth(2).hover();
    expect(await page.getByTestId('token-detail').textContent()).toMatch(/loss \d+\.\d{3} nats/);
    await page.screenshot({ path: path.join(artifacts, 'webgpu-run.png'), fullPage: true });

    // Cancel a long generation once a few tokens are out; the page stays usable.
    await runPrompt(page, 400);
    await expect
      .poll(async () => (await page.getByTestId('generation-text').innerText()).length, {
        timeout: 60_000,
      })
      .toBeGreaterThan(PROMPT.length + 8);
    await page.getByRole('button', { name: 'Cancel' }).first().click();
    await waitStatus(page, 'gen-status', 'cancelled', 15_000);
    expect(await page.getByTestId('gen-status').textContent()).toMatch(/Cancelled/);
    const cancelledText = await page.getByTestId('generation-text').innerText();
    expect(cancelledText.length).toBeLessThan(PROMPT.length + 400 * 6);
    await page.screenshot({ path: path.join(artifacts, 'webgpu-cancelled.png'), fullPage: true });
    await runPrompt(page, 8);
    await waitStatus(page, 'gen-status', 'done');
    expect(await page.getByTestId('generation-text').innerText()).toMatch(/^Once upon a time, there was/);

    // A broken model file: the error names it, and the loaded model stays.
    await page.locator('input[name="model-file"]').setInputFiles({
      name: 'broken.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(10, 7),
    });
    await page.getByRole('button', { name: 'Load files' }).click();
    await waitStatus(page, 'load-status', 'error', 30_000).catch(() => undefined);
    expect(await page.getByTestId('load-status').getAttribute('data-status')).toBe('error');
    const error = (await page.getByTestId('error').first().textContent()) ?? '';
    expect(error).toContain('broken.bin');
    expect(error).toMatch(/Model file problem/);
    expect(await page.getByTestId('shape-dim').textContent()).toBe('64');
    await page.screenshot({ path: path.join(artifacts, 'webgpu-broken-file.png'), fullPage: true });

    expect(errors).toEqual([]);
    await page.close();
  });

  it('runs the same flow on the CPU backend (light and dark)', async () => {
    const { page, errors } = await openPage();
    await expectBackend(page, /WebGPU|CPU/);
    await page.getByText('CPU', { exact: true }).click();
    await expectBackend(page, /^CPU/);
    await loadFiles(page);
    await checkShape(page, 'CPU');
    await runPrompt(page, 30);
    await waitStatus(page, 'gen-status', 'done');
    await checkResults(page);
    await page.screenshot({ path: path.join(artifacts, 'cpu-run.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByTestId('token-chip').nth(1).hover();
    await page.screenshot({ path: path.join(artifacts, 'cpu-run-dark.png'), fullPage: true });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.screenshot({ path: path.join(artifacts, 'cpu-run-narrow-dark.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('loads the model from ?model=…&tokenizer=… URLs', async () => {
    const assets: Record<string, string> = {
      '/e2e-assets/stories260K.bin': sharedPath(STORIES260K),
      '/e2e-assets/tok512.bin': sharedPath(TOK512),
    };
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Serve the shared assets from the page's origin without copying them into the build.
    await page.route(
      (url) => url.pathname.startsWith('/e2e-assets/'),
      (route) => {
        const file = assets[new URL(route.request().url()).pathname];
        return file
          ? route.fulfill({ status: 200, contentType: 'application/octet-stream', body: readFileSync(file) })
          : route.fulfill({ status: 404, body: 'not found' });
      },
    );
    await page.goto(
      `${baseUrl}?backend=cpu&model=/e2e-assets/stories260K.bin&tokenizer=/e2e-assets/tok512.bin`,
    );
    await waitStatus(page, 'load-status', 'done', 60_000);
    await checkShape(page, 'CPU');
    expect(await page.locator('input[name="model-url"]').inputValue()).toBe('/e2e-assets/stories260K.bin');

    // A URL that 404s shows the HTTP error, naming the URL.
    await page.locator('input[name="model-url"]').fill('/e2e-assets/missing.bin');
    await page.getByRole('button', { name: 'Fetch' }).click();
    await waitStatus(page, 'load-status', 'error', 30_000).catch(() => undefined);
    expect(await page.getByTestId('load-status').getAttribute('data-status')).toBe('error');
    expect(await page.getByTestId('error').first().textContent()).toMatch(
      /Download failed.*missing\.bin: HTTP 404/s,
    );
    await page.screenshot({ path: path.join(artifacts, 'url-404.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
