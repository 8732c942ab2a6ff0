/**
 * Build the app with the repo's vite.config.ts, serve it with `vite preview`, and launch Debian's
 * Chromium with WebGPU through playwright-core. Shared by the e2e test files.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview, type PreviewServer } from 'vite';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = path.join(repoRoot, 'test-artifacts/e2e');

export interface AppServer {
  baseUrl: string;
  browser: Browser;
  close(): Promise<void>;
}

/** Build and serve the app, and launch Chromium (with `chromiumArgs` added to the usual flags). */
export async function startApp(options: { chromiumArgs?: readonly string[] } = {}): Promise<AppServer> {
  mkdirSync(artifacts, { recursive: true });
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-e2e-'));
  const configFile = path.join(repoRoot, 'vite.config.ts');
  const root = path.join(repoRoot, 'app');
  await build({ configFile, root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const server: PreviewServer = await preview({
    configFile,
    root,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const address = server.httpServer.address() as AddressInfo;
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...(options.chromiumArgs ?? [])],
    headless: true,
  });
  return {
    baseUrl: `http://127.0.0.1:${address.port}/`,
    browser,
    async close() {
      await browser.close();
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** A page at 1360×900 in `context` that records uncaught errors. */
export async function openPage(
  context: BrowserContext,
  url: string,
): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  return { page, errors };
}

/** Wait until the backend is up; a missing WebGPU adapter FAILS with its message (never falls back). */
export async function expectBackend(page: Page, pattern: RegExp): Promise<string> {
  const d = page.getByTestId('backend-description');
  await expect.poll(async () => (await d.textContent()) ?? '', { timeout: 60_000 }).not.toMatch(/starting/);
  const text = ((await d.textContent()) ?? '').trim();
  expect(text).toMatch(pattern);
  return text;
}

/** The cell elements in order. */
export function cells(page: Page) {
  return page.locator('article[data-cell-kind]');
}

/** Wait for a cell to reach `status`; an error status fails with the cell's message. */
export async function waitCell(page: Page, index: number, status: string, timeout = 120_000): Promise<void> {
  const cell = cells(page).nth(index);
  // Judge the status the poll saw: reading it again races a cell that is restored as done and
  // then re-runs (it would read "running" although "done" was reached).
  let actual: string | null = null;
  await expect
    .poll(async () => (actual = await cell.getAttribute('data-cell-status')), { timeout, interval: 100 })
    .toMatch(new RegExp(`^(${status}|error)$`));
  if (actual !== status) {
    const shown = await cell.getByTestId('error').allTextContents();
    throw new Error(`cell ${index} is "${actual}", expected "${status}": ${shown.join(' | ')}`);
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}
