/**
 * The teaching-demo gallery: write each demo notebook (scripts/demo-notebooks.ts) to
 * public/demos/<id>.sparsebook.json and the gallery page to public/gallery.html, then open every
 * demo in headless Chromium on the CPU backend (`?demo=<id>&backend=cpu`), press Run all, time it
 * until every cell is done, and screenshot its most telling chart to public/demos/<id>.png.
 *
 *   npx tsx scripts/demo-gallery.ts                 # write, run every demo, print the times
 *   npx tsx scripts/demo-gallery.ts find-the-cliff  # only these demos
 *   npx tsx scripts/demo-gallery.ts --write-only    # notebooks and gallery.html, no browser
 *
 * The budget is two minutes per demo on the CPU backend of a 2-core machine; the run fails past it.
 * Copy the printed table into public/demos/README.md. Full-page text and full-size charts of each
 * run go to test-artifacts/ (ignored) for checking the notebooks' prose against the numbers.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import * as prettier from 'prettier';
import { KNOWN_KINDS } from '../app/cells/kinds';
import { serializeNotebook } from '../app/notebook/notebook-file';
import { demos, type Demo } from './demo-notebooks';
import { openPage, repoRoot, startApp } from '../test/e2e/app-server';

const BUDGET_MS = 120_000;
const THUMB = { width: 480, height: 300 };
const demosDir = path.join(repoRoot, 'public/demos');

/**
 * Write the notebooks and the gallery page. A demo using a kind this build does not register yet
 * is left out (its file removed), so the gallery never links a notebook the app would refuse.
 */
async function writeNotebooks(all: Demo[]): Promise<Demo[]> {
  const ready: Demo[] = [];
  for (const d of all) {
    const file = path.join(demosDir, `${d.id}.sparsebook.json`);
    const missing = [...new Set(d.doc.cells.map((c) => c.kind))].filter((k) => !KNOWN_KINDS.has(k));
    if (missing.length) {
      console.warn(`${d.id}: left out, kinds not registered yet: ${missing.join(', ')}`);
      rmSync(file, { force: true });
      continue;
    }
    await writeFormatted(file, serializeNotebook(d.doc));
    ready.push(d);
  }
  await writeFormatted(path.join(repoRoot, 'public/gallery.html'), galleryHtml(ready));
  return ready;
}

/** Write a file as the repo's prettier config formats it (so `format:check` stays clean). */
async function writeFormatted(file: string, text: string): Promise<void> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The static gallery page: no scripts, the app's colour tokens, light and dark. */
export function galleryHtml(list: Demo[]): string {
  const cards = list
    .map(
      (d) => `      <article class="card">
        <a class="thumb" href="./?demo=${d.id}"><img src="demos/${d.id}.png" width="${THUMB.width}" height="${THUMB.height}" alt="${escapeHtml(d.title)}: the demo's main chart" loading="lazy"></a>
        <div class="body">
          <h2>${escapeHtml(d.title)}</h2>
          <p class="paper">${escapeHtml(d.paper)}</p>
          <p>${escapeHtml(d.summary)}</p>
          <p class="links"><a class="btn primary" href="./?demo=${d.id}">Open</a> <a class="btn" href="./?demo=${d.id}&amp;backend=cpu">Open on CPU</a></p>
        </div>
      </article>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta http-equiv="Content-Security-Policy" content="default-src 'self'; style-src 'unsafe-inline' 'self'; img-src 'self' data:">
    <title>Sparsebook · demo gallery</title>
    <link rel="icon" href="favicon.svg" type="image/svg+xml">
    <style>
      :root {
        --font-sans: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
        --bg: #f6f7f9;
        --surface: #ffffff;
        --surface-2: #f0f2f5;
        --border: #dde1e7;
        --text: #1c2330;
        --text-muted: #5d6778;
        --accent: #3056d3;
        --accent-hover: #2445b4;
        --accent-text: #ffffff;
        --shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 1px 3px rgb(16 24 40 / 8%);
        --radius: 10px;
        --radius-sm: 6px;
        --gap: 16px;
        color-scheme: light dark;
      }
      @media (prefers-color-scheme: dark) {
        :root {
          --bg: #0f1318;
          --surface: #171c23;
          --surface-2: #1f2630;
          --border: #2c3541;
          --text: #e4e8ee;
          --text-muted: #9aa5b5;
          --accent: #7b9cff;
          --accent-hover: #9bb4ff;
          --accent-text: #0f1318;
          --shadow: 0 1px 2px rgb(0 0 0 / 40%);
        }
      }
      * { box-sizing: border-box; }
      body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.5 var(--font-sans); }
      header, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 var(--gap); }
      header { padding-top: 32px; }
      h1 { font-size: 1.6rem; margin: 0 0 4px; }
      header p, footer { color: var(--text-muted); }
      a { color: var(--accent); }
      .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: var(--gap); margin: 24px 0; }
      .card { display: flex; flex-direction: column; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); overflow: hidden; }
      .thumb { display: block; background: var(--surface-2); border-bottom: 1px solid var(--border); }
      .thumb img { display: block; width: 100%; height: auto; aspect-ratio: ${THUMB.width} / ${THUMB.height}; object-fit: cover; object-position: top left; }
      .body { display: flex; flex-direction: column; flex: 1; padding: 12px var(--gap) var(--gap); }
      h2 { font-size: 1.15rem; margin: 0 0 2px; }
      .paper { color: var(--text-muted); font-size: 0.9rem; font-style: italic; margin: 0 0 8px; }
      .body p { margin: 0 0 10px; }
      .links { margin-top: auto !important; display: flex; gap: 8px; }
      .btn { display: inline-block; padding: 5px 12px; border: 1px solid var(--border); border-radius: var(--radius-sm); background: var(--surface-2); color: var(--text); text-decoration: none; font-weight: 500; }
      .btn:hover { border-color: var(--accent); }
      .btn.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
      .btn.primary:hover { background: var(--accent-hover); }
      .btn:focus-visible, .thumb:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
      footer { padding-bottom: 32px; font-size: 0.9rem; }
    </style>
  </head>
  <body>
    <header>
      <h1>Sparsebook demo gallery</h1>
      <p>Guided notebooks, each built on a published result and run on the models bundled with Sparsebook. Open one and press <strong>Run all</strong>; each finishes in under two minutes even on the CPU backend.</p>
    </header>
    <main>
      <div class="grid">
${cards}
      </div>
    </main>
    <footer><a href="./">Back to the notebook</a> · the notebooks are plain files in <code>demos/</code>: open one with the app's Open button to keep a copy.</footer>
  </body>
</html>
`;
}

/** Poll `read` until `done` says so; throws after `timeoutMs` with `what`. */
async function until<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Wait for the backend as test/e2e/app-server.ts `expectBackend` does (same test id), without its
 * vitest `expect.poll`, which needs a running test.
 */
async function waitBackend(page: Page, pattern: RegExp): Promise<string> {
  const d = page.getByTestId('backend-description');
  const text = await until(
    async () => ((await d.textContent().catch(() => '')) ?? '').trim(),
    (t) => t !== '' && !/starting/i.test(t),
    60_000,
    'backend start',
  );
  if (!pattern.test(text)) throw new Error(`backend is "${text}", expected ${pattern}`);
  return text;
}

interface CellState {
  id: string;
  kind: string;
  status: string;
}

async function cellStates(page: Page): Promise<CellState[]> {
  return page.locator('article[data-cell-status]').evaluateAll((els) =>
    els.map((e) => ({
      id: e.getAttribute('data-cell-id') ?? '',
      kind: e.getAttribute('data-cell-kind') ?? '',
      status: e.getAttribute('data-cell-status') ?? '',
    })),
  );
}

/** The element's screenshot scaled to THUMB.width (cropped to THUMB.height), as PNG bytes. */
async function thumbnail(page: Page, element: Locator): Promise<Buffer> {
  await element.scrollIntoViewIfNeeded();
  const shot = await element.screenshot({ animations: 'disabled' });
  const bytes = await page.evaluate(
    async ({ data, width, height }) => {
      const bitmap = await createImageBitmap(new Blob([new Uint8Array(data)], { type: 'image/png' }));
      const scale = width / bitmap.width;
      const h = Math.min(height, Math.round(bitmap.height * scale));
      const canvas = new OffscreenCanvas(width, h);
      const ctx = canvas.getContext('2d')!;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(bitmap, 0, 0, width, bitmap.height * scale);
      const blob = await canvas.convertToBlob({ type: 'image/png' });
      return [...new Uint8Array(await blob.arrayBuffer())];
    },
    { data: [...shot], ...THUMB },
  );
  return Buffer.from(bytes);
}

interface Timing {
  id: string;
  cells: number;
  /** From page load to every cell done (backend start, model download and load included). */
  totalMs: number;
  /** From the Run all click to every cell done. */
  runAllMs: number;
  thumbBytes: number;
}

async function runDemo(app: Awaited<ReturnType<typeof startApp>>, demo: Demo): Promise<Timing> {
  // A fresh context per demo: empty IndexedDB, so nothing is restored from an earlier run's cache.
  // 900 px wide: charts drawn at about 800 px, which scale down to a legible 480 px thumbnail.
  const context = await app.browser.newContext({ viewport: { width: 900, height: 900 } });
  try {
    const t0 = Date.now();
    const { page, errors } = await openPage(context, `${app.baseUrl}?demo=${demo.id}&backend=cpu`);
    await waitBackend(page, /CPU|cpu/);
    const n = demo.doc.cells.length;
    await until(
      () => cellStates(page),
      (s) => s.length === n,
      30_000,
      `${n} cells on the page`,
    );
    const t1 = Date.now();
    await page.getByRole('button', { name: 'Run all', exact: true }).click();
    const states = await until(
      () => cellStates(page),
      (s) => s.every((c) => c.status === 'done') || s.some((c) => c.status === 'error'),
      BUDGET_MS + 60_000,
      `${demo.id}: every cell done`,
    );
    const t2 = Date.now();
    const failed = states.find((c) => c.status === 'error');
    if (failed) {
      const shown = await page
        .locator(`article[data-cell-id="${failed.id}"]`)
        .getByTestId('error')
        .allTextContents();
      throw new Error(`${demo.id}: cell ${failed.id} (${failed.kind}) failed: ${shown.join(' | ')}`);
    }
    const target = page
      .locator(`article[data-cell-id="${demo.thumbnail.cell}"]`)
      .locator(demo.thumbnail.selector)
      .first();
    await target.waitFor({ state: 'visible', timeout: 10_000 });
    await target.scrollIntoViewIfNeeded();
    await target.screenshot({ path: path.join(repoRoot, 'test-artifacts', `demo-${demo.id}-chart.png`) });
    const png = await thumbnail(page, target);
    writeFileSync(path.join(demosDir, `${demo.id}.png`), png);
    // What the cells show, for checking the prose against the numbers (test-artifacts is ignored).
    const shown = await page
      .locator('article[data-cell-status]:not([data-cell-kind="markdown"])')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).innerText).join('\n\n----\n\n'));
    writeFileSync(path.join(repoRoot, 'test-artifacts', `demo-${demo.id}.txt`), shown);
    if (errors.length) console.warn(`${demo.id}: page errors:\n  ${errors.join('\n  ')}`);
    return { id: demo.id, cells: n, totalMs: t2 - t0, runAllMs: t2 - t1, thumbBytes: png.length };
  } finally {
    await context.close();
  }
}

function table(rows: Timing[]): string {
  const s = (ms: number) => (ms / 1000).toFixed(1);
  return [
    '| demo | cells | Run all → done (s) | page load → done (s) | thumbnail (kB) |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| \`${r.id}\` | ${r.cells} | ${s(r.runAllMs)} | ${s(r.totalMs)} | ${(r.thumbBytes / 1024).toFixed(1)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const only = args.filter((a) => !a.startsWith('--'));
  for (const id of only) if (!demos(repoRoot).some((d) => d.id === id)) throw new Error(`no demo "${id}"`);
  const all = await writeNotebooks(demos(repoRoot));
  if (args.includes('--write-only')) return;
  const chosen = only.length ? all.filter((d) => only.includes(d.id)) : all;
  const app = await startApp();
  const rows: Timing[] = [];
  try {
    for (const demo of chosen) {
      const r = await runDemo(app, demo);
      rows.push(r);
      console.log(
        `${demo.id}: ${(r.runAllMs / 1000).toFixed(1)} s after Run all, ${(r.totalMs / 1000).toFixed(1)} s from load`,
      );
    }
  } finally {
    await app.close();
  }
  console.log('\n' + table(rows));
  const over = rows.filter((r) => r.totalMs > BUDGET_MS);
  if (over.length)
    throw new Error(`over the ${BUDGET_MS / 1000} s budget: ${over.map((r) => r.id).join(', ')}`);
}

await main();
