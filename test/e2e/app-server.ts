/**
 * Serve the app (built once per run by test/e2e/global-setup.ts) with `vite preview`, and launch
 * Debian's Chromium with WebGPU through playwright-core. Shared by the e2e test files.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { preview, type PreviewServer } from 'vite';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium';
import { appConfigFile, appRoot, artifacts, buildApp, repoRoot } from './app-build';

export { artifacts, repoRoot };

/** The viewport of every e2e page. */
export const VIEWPORT = { width: 1360, height: 900 } as const;

export interface AppServer {
  baseUrl: string;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Serve the app and launch Chromium (with `chromiumArgs` added to the usual flags). In the e2e
 * project the app is the run's one build (global-setup.ts); outside vitest (scripts) it is built
 * here, and removed on close.
 */
export async function startApp(options: { chromiumArgs?: readonly string[] } = {}): Promise<AppServer> {
  mkdirSync(artifacts, { recursive: true });
  const own = process.env.VITEST ? undefined : await buildApp();
  const server: PreviewServer = await preview({
    configFile: appConfigFile,
    root: appRoot,
    logLevel: 'warn',
    build: { outDir: own?.outDir ?? inject('appDist') },
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
      own?.remove();
    },
  };
}

/** A browser context on the app's browser at `VIEWPORT` (`extra`: downloads, offline, …). */
export function newAppContext(app: AppServer, extra: BrowserContextOptions = {}): Promise<BrowserContext> {
  return app.browser.newContext({ viewport: VIEWPORT, ...extra });
}

/**
 * The app for one test file: started before its tests, closed after them. The holder is filled
 * before the file's own `beforeAll` hooks run (they are registered after this call).
 */
export function useApp(): { app: AppServer } {
  const held = {} as { app: AppServer };
  beforeAll(async () => {
    held.app = await startApp();
  });
  afterAll(async () => {
    await held.app?.close();
  });
  return held;
}

/** `useApp` with one browser context (`newAppContext(app, extra)`) for the file's tests. */
export function useAppContext(extra: BrowserContextOptions = {}): {
  app: AppServer;
  context: BrowserContext;
} {
  const held = {} as { app: AppServer; context: BrowserContext };
  beforeAll(async () => {
    held.app = await startApp();
    held.context = await newAppContext(held.app, extra);
  });
  afterAll(async () => {
    await held.context?.close();
    await held.app?.close();
  });
  return held;
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
