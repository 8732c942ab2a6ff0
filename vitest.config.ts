import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import path from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/helpers/chromium';
import { ensureWasmBuild } from './scripts/wasm-build.mjs';

// The CPU backend's WebAssembly kernels, compiled ahead of time (rebuilt here when a source is newer).
ensureWasmBuild();

const root = import.meta.dirname;
const sharedDir = process.env.SPARSEBOOK_SHARED ?? path.resolve(root, '../shared');

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/kernels/**', 'test/browser/**', 'test/e2e/**', 'test/app/**/*.browser.test.ts'],
          testTimeout: 120_000,
        },
      },
      {
        // Kernel tests and in-browser model checks: real headless Chromium with WebGPU.
        server: { fs: { allow: [root, sharedDir] } },
        // Pre-bundled up front: found mid-run (the runtime-faults worker), Vite would reload the page.
        optimizeDeps: { include: ['comlink'] },
        test: {
          name: 'kernels',
          include: [
            'test/kernels/**/*.test.ts',
            'test/browser/**/*.test.ts',
            'test/app/**/*.browser.test.ts',
          ],
          testTimeout: 300_000,
          provide: { sharedDir },
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          // The app is built once for every file (test/e2e/global-setup.ts).
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
