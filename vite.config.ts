import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import path from 'node:path';

const sharedDir = process.env.SPARSEBOOK_SHARED ?? path.resolve(import.meta.dirname, '../shared');

// COOP/COEP make the page cross-origin isolated (SharedArrayBuffer, threaded onnxruntime-web).
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: 'app',
  publicDir: '../public',
  plugins: [svelte({ configFile: false })],
  worker: { format: 'es' },
  build: { outDir: '../dist', emptyOutDir: true, target: 'es2022' },
  server: { headers: isolationHeaders, fs: { allow: ['..', sharedDir] } },
  preview: { headers: isolationHeaders },
});
