/**
 * Reports and embeds end to end in headless Chromium with WebGPU (SwiftShader):
 * - a notebook with a pruning curve, an attention head grid and a markdown cell full of XSS
 *   payloads runs in the app and exports ONE HTML file;
 * - that file opens from file:// in a fresh context with every request routed to abort: the charts
 *   render, hover and a view param (the probe layer) still work, compute params are read-only, the
 *   provenance block is there, and no payload ran (in the app either);
 * - one cell is embedded in a host page through an iframe and through <sparsebook-cell>, and fits
 *   two container widths;
 * - Make live, with the model files given, re-runs every cell.
 * Screenshots go to test-artifacts/e2e/.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifacts,
  cells,
  expectBackend,
  newAppContext,
  openPage,
  repoRoot,
  useAppContext,
  waitCell,
} from './app-server';
import type { NotebookDoc } from '../../app/notebook/document';
import { encodeShareHash } from '../../app/notebook/share-link';
import { XSS_PAYLOADS, xssMarkdown } from './xss-payloads';

const session = useAppContext({ acceptDownloads: true });
let work: string;
let reportPath: string;

const DENSE = path.join(repoRoot, 'public/models/sparsebook-dense');
const PAYLOAD = XSS_PAYLOADS[1]!;

/** The notebook under test: every param small enough for SwiftShader. */
function notebook(): string {
  const text = readFileSync(path.join(repoRoot, 'public/models/corpus/valid-literature.txt'), 'utf8').slice(
    0,
    6000,
  );
  const cell = (id: string, kind: string, params: object, inputs: object = {}) => ({
    id,
    kind,
    params,
    inputs,
  });
  return JSON.stringify({
    format: 'sparsebook-notebook',
    version: 2,
    title: `Report test ${PAYLOAD}`,
    cells: [
      cell('intro', 'markdown', { source: xssMarkdown() }),
      cell('model', 'model', {
        source: 'bundled',
        bundled: 'sparsebook-dense',
        modelUrl: '',
        tokenizerUrl: '',
        files: [],
      }),
      cell('text', 'text', { text: `${XSS_PAYLOADS.join(' ')} ${text}`, name: `literature ${PAYLOAD}` }),
      cell(
        'probes',
        'attention-probes',
        { maxWindows: 1, metric: 'entropy', layer: 0, head: 0 },
        { model: 'model', text: 'text' },
      ),
      cell(
        'prune',
        'pruning-sweep',
        {
          methods: ['magnitude'],
          patterns: ['unstructured', '2:4'],
          sparsities: [0.25, 0.5, 0.75],
          calibrationWindows: 1,
          maxWindows: 1,
          allocation: 'uniform',
          xAxis: 'sparsity',
          yAxis: 'loss',
          point: -1,
          layer: 0,
          matrix: 'w1',
          microRow: 0,
          microGroup: 0,
        },
        { model: 'model', text: 'text' },
      ),
    ],
  });
}

async function allDone(page: Page, timeout = 300_000): Promise<void> {
  const n = await cells(page).count();
  for (let i = 0; i < n; i++) await waitCell(page, i, 'done', timeout);
}

async function noPayloadRan(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
  for (const frame of page.frames())
    expect(
      await frame.evaluate(() => (window as unknown as { __xss?: unknown }).__xss).catch(() => undefined),
    ).toBeUndefined();
}

/**
 * Console errors other than the CSP blocking what the payloads attempt: Chromium reports an inline
 * handler even inside the inert documents the sanitizer parses (and blocks it), and the sanitized
 * `<img src=x>` keeps a relative src that the report's img-src refuses. Anything else (an eval, a
 * remote load, a page error) is a failure.
 */
function unexpected(errors: string[]): string[] {
  const blockedPayload = /Executing inline event handler violates|Loading the image '[^']*\/x' violates/;
  return errors.filter((e) => !blockedPayload.test(e));
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-report-'));
});

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('reports', () => {
  it('exports a notebook as one self-contained HTML file; payloads never run in the app', async () => {
    const { page, errors } = await openPage(session.context, session.app.baseUrl);
    await expectBackend(page, /WebGPU/);
    const file = path.join(work, 'report-test.sparsebook.json');
    writeFileSync(file, notebook());
    await page.getByTestId('open-notebook').setInputFiles(file);
    await expect.poll(() => cells(page).count()).toBe(5);
    await page.getByRole('button', { name: 'Run all' }).click();
    await allDone(page);
    await noPayloadRan(page);
    // The markdown shows the payloads' text, sanitised: no live handlers, no javascript: links.
    const md = cells(page).nth(0);
    expect(
      await md.locator('[onerror], [onload], [ontoggle], [onfocus], script, iframe, object, embed').count(),
    ).toBe(0);
    expect(await md.locator('a[href^="javascript"]').count()).toBe(0);

    // Copy embed code: the clipboard gets the iframe (embed.html + the share hash + the cell) and
    // the custom element; the iframe's URL opens that one cell alone.
    await session.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: session.app.baseUrl,
    });
    await page.getByRole('button', { name: 'Copy embed code of cell 4' }).click();
    const code = await page.getByRole('textbox', { name: 'Embed code of cell 4' }).inputValue();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(code);
    expect(code).toContain('<sparsebook-cell src="');
    expect(code).toContain('cell="probes"');
    const iframeSrc = /<iframe src="([^"]+)"/.exec(code)![1]!.replaceAll('&amp;', '&');
    expect(iframeSrc).toMatch(/embed\.html#nb=.+&cell=probes/);
    const embedded = await session.context.newPage();
    await embedded.goto(iframeSrc);
    await expect.poll(() => cells(embedded).count(), { timeout: 30_000 }).toBe(1);
    await waitCell(embedded, 0, 'done', 180_000);
    await expect
      .poll(() => embedded.locator('[data-testid="probe-grid"] canvas').count(), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await embedded.close();

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export report' }).click();
    reportPath = path.join(work, 'notebook.report.html');
    await (await download).saveAs(reportPath);
    copyFileSync(reportPath, path.join(artifacts, 'report.html'));
    const html = readFileSync(reportPath, 'utf8');
    expect(html).toContain('http-equiv="Content-Security-Policy"');
    expect(html).not.toContain('unsafe-eval');
    expect(html).not.toContain('new Function');
    // Outside the inlined code (whose strings may mention tags), nothing names an external file.
    const markup = html
      .replace(/<script type="module">[\s\S]*<\/script>/, '')
      .replace(/<style>[\s\S]*?<\/style>/g, '');
    expect(markup).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)|<img[^>]+src="(?!data:)/);
    // The payload in the title is escaped in <title>; the data block holds only base64url.
    expect(html).not.toContain(PAYLOAD);
    console.log(`report: ${(statSync(reportPath).size / 1e6).toFixed(2)} MB`);
    // The app has a CSP too (scripts/app-csp.ts): the payloads' handlers are reported there as well.
    expect(unexpected(errors)).toEqual([]);
  }, 600_000);

  it('opens from file:// with the network blocked: charts render, hover and view params work', async () => {
    const offline = await newAppContext(session.app, { offline: true });
    const requests: string[] = [];
    // Any CSP violation (a payload's handler, an eval, a remote load) is reported to the console.
    await offline.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    try {
      const { page, errors } = await openPage(offline, pathToFileURL(reportPath).href);
      await expect.poll(() => cells(page).count(), { timeout: 30_000 }).toBe(5);
      await expect.poll(() => page.getByTestId('report-title').textContent()).toContain('Report test');
      await noPayloadRan(page);
      await expect(page.getByTestId('provenance').textContent()).resolves.toMatch(/Sparsebook 0\.\d+\.\d+/);
      await page.getByTestId('provenance').locator('summary').click();
      const provenance = (await page.getByTestId('provenance').textContent()) ?? '';
      expect(provenance).toMatch(/model\.safetensors sha256 [0-9a-f]{16}/);
      expect(provenance).toMatch(/webgpu/);

      const probes = cells(page).nth(3);
      const grid = probes.getByTestId('probe-grid');
      await expect.poll(() => grid.locator('canvas').count(), { timeout: 30_000 }).toBeGreaterThan(0);
      expect(await probes.getByRole('spinbutton', { name: 'Windows' }).isDisabled()).toBe(true);
      // Hover a head of the grid: the readout names it.
      const canvas = grid.locator('canvas').first();
      await canvas.scrollIntoViewIfNeeded();
      const box = (await canvas.boundingBox())!;
      const readout = grid.locator('.sb-readout').first();
      const before = await readout.textContent();
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
      await expect.poll(() => readout.textContent()).not.toBe(before);
      // A view param (the probe layer) changes what is shown, with no model.
      const profile = probes.getByTestId('head-profile');
      await probes.getByRole('combobox', { name: 'Probe layer' }).selectOption('2');
      await expect.poll(() => profile.getAttribute('data-layer')).toBe('2');

      const prune = cells(page).nth(4);
      const curves = prune.getByTestId('pruning-curves');
      expect(await curves.locator('path').count()).toBeGreaterThan(1);
      await curves.locator('svg').first().scrollIntoViewIfNeeded();
      const svg = (await curves.locator('svg').first().boundingBox())!;
      const curveReadout = prune.locator('.sb-readout').first();
      const idle = await curveReadout.textContent();
      await page.mouse.move(svg.x + svg.width * 0.5, svg.y + svg.height * 0.5);
      await expect.poll(() => curveReadout.textContent()).not.toBe(idle);
      await shot(page, 'report-offline');
      expect(requests).toEqual([]);
      expect(unexpected(errors)).toEqual([]);
    } finally {
      await offline.close();
    }
  }, 300_000);

  it('embeds one cell through an iframe and through <sparsebook-cell>, at two widths', async () => {
    const site = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-host-'));
    copyFileSync(reportPath, path.join(site, 'report.html'));
    copyFileSync(path.join(repoRoot, 'public/sparsebook-cell.js'), path.join(site, 'sparsebook-cell.js'));
    writeFileSync(
      path.join(site, 'host.html'),
      `<!doctype html><html><head><meta charset="utf-8"><title>Host</title>
<script type="module" src="sparsebook-cell.js"></script>
<style>body{font-family:sans-serif;margin:0} #box{width:var(--w, 900px)}</style></head>
<body><div id="box"><h1>A course page</h1>
<iframe id="frame" src="report.html#cell=prune&controls=0" title="pruning" style="width:100%;height:400px;border:0"></iframe>
<sparsebook-cell id="element" src="report.html" cell="probes" theme="dark"></sparsebook-cell>
</div></body></html>`,
    );
    const server: Server = createServer((req, res) => {
      const name = path.basename(new URL(req.url ?? '/', 'http://x').pathname) || 'host.html';
      try {
        const body = readFileSync(path.join(site, name));
        res.setHeader('Content-Type', name.endsWith('.js') ? 'text/javascript' : 'text/html');
        res.end(body);
      } catch {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/host.html`;
    try {
      const { page, errors } = await openPage(session.context, url);
      for (const width of [900, 420]) {
        await page.evaluate((w) => document.getElementById('box')!.style.setProperty('--w', `${w}px`), width);
        const iframe = page.frameLocator('#frame');
        await expect
          .poll(() => iframe.locator('[data-testid="pruning-curves"] path').count(), { timeout: 60_000 })
          .toBeGreaterThan(1);
        // controls=0: no header and no parameter fields in the embedded cell.
        expect(await iframe.locator('article header').isHidden()).toBe(true);
        expect(await iframe.getByRole('spinbutton').count()).toBe(0);
        const custom = page.locator('#element');
        const inner = custom.locator('iframe');
        const frame = await (await inner.elementHandle())!.contentFrame();
        await expect
          .poll(async () => await frame!.locator('[data-testid="probe-grid"] canvas').count(), {
            timeout: 60_000,
          })
          .toBeGreaterThan(0);
        expect(await frame!.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
        const box = (await custom.boundingBox())!;
        expect(Math.round(box.width)).toBe(width);
        // The frame grows to the cell's height (posted by the embed), and nothing overflows sideways.
        await expect
          .poll(async () => (await custom.boundingBox())!.height, { timeout: 30_000 })
          .toBeGreaterThan(200);
        const overflow = await frame!.evaluate(() =>
          [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(
              (e) =>
                `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}/${window.innerWidth}`,
            )
            .slice(0, 5),
        );
        expect(overflow).toEqual([]);
        await shot(page, `embed-${width}`);
      }
      await noPayloadRan(page);
      expect(unexpected(errors)).toEqual([]);
    } finally {
      server.close();
      rmSync(site, { recursive: true, force: true });
    }
  }, 300_000);

  it('embed.html runs one cell of a notebook carried in the hash, alone', async () => {
    const doc = JSON.parse(notebook()) as NotebookDoc;
    doc.cells = [
      ...doc.cells.slice(1, 3),
      { id: 'loss', kind: 'loss', params: {}, inputs: { model: 'model', text: 'text' } },
    ];
    const { page, errors } = await openPage(
      session.context,
      `${session.app.baseUrl}embed.html${encodeShareHash(doc)}&cell=loss&controls=0`,
    );
    await expect.poll(() => cells(page).count(), { timeout: 30_000 }).toBe(1);
    await waitCell(page, 0, 'done', 180_000);
    expect(Number(await page.getByTestId('loss-value').textContent())).toBeGreaterThan(0);
    expect(await page.locator('header').count()).toBe(0);
    await noPayloadRan(page);
    await shot(page, 'embed-live');
    expect(unexpected(errors)).toEqual([]);
  }, 300_000);

  it('Make live re-runs the report with the model given', async () => {
    const live = await newAppContext(session.app);
    try {
      const { page } = await openPage(live, pathToFileURL(reportPath).href);
      await expect.poll(() => cells(page).count(), { timeout: 30_000 }).toBe(5);
      await page.getByRole('button', { name: 'Make live' }).click();
      const model = cells(page).nth(1);
      // From file:// the bundled model cannot be fetched: the model cell asks for its files.
      await model
        .getByTestId('model-files')
        .setInputFiles(['config.json', 'model.safetensors', 'tokenizer.bin'].map((f) => path.join(DENSE, f)));
      // Every runnable cell runs again: each ends done with its own elapsed time, none restored.
      for (const i of [1, 2, 3, 4]) {
        await expect
          .poll(async () => (await cells(page).nth(i).getByTestId('cell-status').textContent()) ?? '', {
            timeout: 300_000,
          })
          .toMatch(/Done\s*·\s*[\d.,]+\s*(ms|s)/);
      }
      await allDone(page);
      expect(await cells(page).nth(1).getByTestId('model-facts').innerText()).toMatch(/Backend\s*WebGPU/);
      const probes = cells(page).nth(3);
      expect(await probes.getByRole('spinbutton', { name: 'Windows' }).isDisabled()).toBe(false);
      expect(await probes.locator('.from-report').count()).toBe(0);
      await noPayloadRan(page);
      await shot(page, 'report-live');
    } finally {
      await live.close();
    }
  }, 600_000);
});
