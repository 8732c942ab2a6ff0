import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import path from 'node:path';
import { appCspPlugin } from './scripts/app-csp';
import { arrowWithoutEval } from './scripts/arrow-without-eval';
import { buildReportShell } from './scripts/report-shell';
import { ensureWasmBuild } from './scripts/wasm-build.mjs';

// The CPU backend's WebAssembly kernels, compiled ahead of time (rebuilt here when a source is newer).
ensureWasmBuild();

const sharedDir = process.env.SPARSEBOOK_SHARED ?? path.resolve(import.meta.dirname, '../shared');

// COOP/COEP make the page cross-origin isolated (SharedArrayBuffer, threaded onnxruntime-web).
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * `report-shell.html`, the single-file app that "Export report" fills with a notebook's results
 * (scripts/report-shell.ts): emitted beside the app by a build, built on first request by the dev
 * server (and again after a source file changes).
 */
function reportShell(): Plugin {
  return {
    name: 'sparsebook-report-shell',
    async generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'report-shell.html', source: await buildReportShell() });
    },
    configureServer(server) {
      let shell: Promise<string> | undefined;
      server.watcher.on('change', () => (shell = undefined));
      server.middlewares.use('/report-shell.html', (_req, res, next) => {
        shell ??= buildReportShell();
        shell.then(
          (html) => {
            res.setHeader('Content-Type', 'text/html; charset=utf-8');
            res.end(html);
          },
          (e: unknown) => {
            shell = undefined;
            next(e);
          },
        );
      });
    },
  };
}

export default defineConfig({
  root: 'app',
  publicDir: '../public',
  // appCspPlugin: the live app's and embed.html's Content-Security-Policy (scripts/app-csp.ts).
  plugins: [arrowWithoutEval(), svelte({ configFile: false }), reportShell(), appCspPlugin()],
  worker: { format: 'es', plugins: () => [arrowWithoutEval()] },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    // The workbench, and embed.html (one cell of a notebook carried in the hash, for iframes).
    rollupOptions: {
      input: {
        main: path.resolve(import.meta.dirname, 'app/index.html'),
        embed: path.resolve(import.meta.dirname, 'app/embed.html'),
      },
    },
  },
  server: { headers: isolationHeaders, fs: { allow: ['..', sharedDir] } },
  preview: { headers: isolationHeaders },
});
