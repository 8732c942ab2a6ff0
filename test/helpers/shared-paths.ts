import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Shared test assets live beside the checkout (`../shared`), never inside the repository.
 * `SPARSEBOOK_SHARED` overrides the location (CI). A missing directory is an error, never a skip.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const SHARED_DIR = process.env.SPARSEBOOK_SHARED ?? path.resolve(repoRoot, '../shared');

if (!existsSync(SHARED_DIR)) {
  throw new Error(
    `shared assets directory not found: ${SHARED_DIR} (set SPARSEBOOK_SHARED or place ../shared beside the checkout)`,
  );
}

/** Absolute path of a shared asset, e.g. `sharedPath('models/stories260K/stories260K.bin')`. */
export function sharedPath(relative: string): string {
  const p = path.join(SHARED_DIR, relative);
  if (!existsSync(p)) throw new Error(`shared asset missing: ${p}`);
  return p;
}

/** Read a shared asset into a fresh, 4-byte-aligned ArrayBuffer. */
export function readShared(relative: string): ArrayBuffer {
  const buf = readFileSync(sharedPath(relative));
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

export const STORIES260K = 'models/stories260K/stories260K.bin';
export const TOK512 = 'models/stories260K/tok512.bin';
export const LLAMA2_TOKENIZER = 'models/tokenizers/llama2-32000.bin';
export const TINYSTORIES_VALID = 'data/tinystories-valid-1000.txt';
