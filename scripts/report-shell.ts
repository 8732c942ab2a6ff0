/**
 * Build the report shell: the whole app (app/index.html + main.ts) as ONE HTML file, with its
 * script, styles, icon and runtime worker inlined, a Content-Security-Policy that forbids every
 * remote load, and a slot for the report data (app/report/report-html.ts). The app serves it as
 * `report-shell.html` (vite.config.ts) and "Export report" fills it in; `sparsebook report` does the
 * same in Node.
 *
 * The CSP allows exactly the two inline scripts by SHA-256 (no 'unsafe-inline', no eval), the
 * inline worker through blob:, inline styles, and images and fetches from data:/blob: and the
 * page's own origin (so "Make live" can load a bundled model when the report is served beside
 * the app). It names no other host, so nothing leaves the machine.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin, type Rollup } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { arrowWithoutEval } from './arrow-without-eval';
import { REPORT_DATA_SLOT, REPORT_TITLE_SLOT } from '../app/report/report-html';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Swap the worker spawner for the one that inlines the worker (a blob: URL). */
function inlineWorker(): Plugin {
  return {
    name: 'sparsebook-inline-worker',
    enforce: 'pre',
    async resolveId(source, importer) {
      if (!importer || !/spawn-runtime-worker(\.ts)?$/.test(source) || source.includes('.inline'))
        return null;
      return path.join(repoRoot, 'workers/spawn-runtime-worker.inline.ts');
    },
  };
}

/** The shell's HTML text. Takes about as long as an app build. */
export async function buildReportShell(): Promise<string> {
  const out = (await build({
    configFile: false,
    root: path.join(repoRoot, 'app'),
    base: './',
    publicDir: false,
    logLevel: 'warn',
    plugins: [inlineWorker(), arrowWithoutEval(), svelte({ configFile: false })],
    // A classic worker: Chromium refuses module workers from blob: URLs in a file:// page.
    worker: { format: 'iife', plugins: () => [arrowWithoutEval()] },
    build: {
      write: false,
      target: 'es2022',
      assetsInlineLimit: Number.MAX_SAFE_INTEGER,
      cssCodeSplit: false,
      modulePreload: false,
      rollupOptions: { output: { inlineDynamicImports: true } },
    },
  })) as Rollup.RollupOutput | Rollup.RollupOutput[];
  const output = (Array.isArray(out) ? out : [out]).flatMap((o) => o.output);
  const html = output.find((o) => o.fileName === 'index.html');
  const js = output.filter((o): o is Rollup.OutputChunk => o.type === 'chunk');
  const css = output.filter(
    (o): o is Rollup.OutputAsset => o.type === 'asset' && o.fileName.endsWith('.css'),
  );
  if (!html || html.type !== 'asset' || js.length !== 1)
    throw new Error(
      `report shell: expected index.html and one script, got ${output.map((o) => o.fileName).join(', ')}`,
    );
  return inlineShell(String(html.source), js[0]!.code, css.map((c) => String(c.source)).join('\n'));
}

/** Put the script and styles inline, add the CSP and the data slot. */
export function inlineShell(html: string, js: string, css: string): string {
  // Inside a <script> element, `</script` ends it early, and `<!--` followed by `<script` puts the
  // HTML parser in a state where the real end tag no longer counts. `\x3C` is `<` in every JS
  // string, template and regex, and minified module code has no `<` before `!--` or `script`
  // outside them.
  const code = js.replace(/<(?=!--|\/?script)/gi, '\\x3C');
  let page = html
    .replace(/<script type="module"[^>]*src="[^"]*"[^>]*><\/script>\s*/, '')
    .replace(/<link rel="stylesheet"[^>]*>\s*/g, '')
    .replace(/<link rel="icon"[^>]*>/, `<link rel="icon" type="image/svg+xml" href="${faviconDataUrl()}" />`)
    .replace(/<title>[^<]*<\/title>/, `<title>${REPORT_TITLE_SLOT}</title>`);
  const inlineScripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const hashes = [...inlineScripts, code].map(
    (s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`,
  );
  const csp = [
    "default-src 'none'",
    `script-src ${hashes.join(' ')}`,
    'worker-src blob: data:',
    "style-src 'unsafe-inline'",
    'img-src data: blob:',
    'font-src data:',
    "connect-src 'self' data: blob:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  page = page.replace(
    '<meta charset="utf-8" />',
    `<meta charset="utf-8" />\n    <meta http-equiv="Content-Security-Policy" content="${csp}" />`,
  );
  if (!page.includes('http-equiv="Content-Security-Policy"'))
    throw new Error('report shell: no <meta charset> to put the CSP after');
  // A function replacer: the code holds `$'` and `$&`, which a replacement string would expand.
  const tail = `${REPORT_DATA_SLOT}\n<style>${css}</style>\n<script type="module">${code}</script>\n</body>`;
  return page.replace('</body>', () => tail);
}

function faviconDataUrl(): string {
  const svg = readFileSync(path.join(repoRoot, 'public/favicon.svg'));
  return `data:image/svg+xml;base64,${svg.toString('base64')}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { writeFileSync } = await import('node:fs');
  const target = process.argv[2] ?? path.join(repoRoot, 'dist/report-shell.html');
  const shell = await buildReportShell();
  writeFileSync(target, shell);
  console.log(`${target}: ${(shell.length / 1e6).toFixed(2)} MB`);
}
