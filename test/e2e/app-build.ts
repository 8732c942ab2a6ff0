/**
 * Where the e2e tests find the repository and the app, where they write artifacts, and the app's
 * production build (Vite, the repo's vite.config.ts) into a temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = path.join(repoRoot, 'test-artifacts/e2e');
export const appRoot = path.join(repoRoot, 'app');
export const appConfigFile = path.join(repoRoot, 'vite.config.ts');

/** Build the app into a fresh temporary folder; `remove` deletes it. */
export async function buildApp(): Promise<{ outDir: string; remove(): void }> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-e2e-'));
  await build({
    configFile: appConfigFile,
    root: appRoot,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return { outDir, remove: () => rmSync(outDir, { recursive: true, force: true }) };
}
