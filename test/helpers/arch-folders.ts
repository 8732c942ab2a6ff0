/**
 * The architecture fixtures (test/fixtures/arch/<name>) as model folders: the four files a user
 * picks or passes to the CLI (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json), loaded the way the worker and the CLI load them (`loadModelFiles`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../kernels/backend';
import { loadModelFiles } from '../../runtime';
import type { ArchFixtureName } from './arch-fixtures';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The files of a fixture folder that make up the model (the rest are reference data). */
export const ARCH_MODEL_FILES = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
] as const;

/** Absolute path of a fixture folder. */
export function archFolder(name: ArchFixtureName): string {
  return path.join(repoRoot, 'test/fixtures/arch', name);
}

/** Absolute paths of a fixture folder's model files (what the e2e test picks in the file input). */
export function archModelPaths(name: ArchFixtureName): string[] {
  return ARCH_MODEL_FILES.map((f) => path.join(archFolder(name), f));
}

/**
 * Load a fixture folder's model and tokenizer onto `backend` as the worker does.
 *
 * @example
 * const { model, tokenizer, info } = loadArchFolder(createCpuBackend(), 'gpt2');
 */
export function loadArchFolder(backend: Backend, name: ArchFixtureName) {
  // A fresh copy: Node's pooled Buffers may start at unaligned offsets.
  const files = ARCH_MODEL_FILES.map((f) => ({
    name: f,
    bytes: new Uint8Array(readFileSync(path.join(archFolder(name), f))),
  }));
  return loadModelFiles(backend, files, { source: name });
}
