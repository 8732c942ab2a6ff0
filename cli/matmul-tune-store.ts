/**
 * The Node store of the matmul autotune's choices: one JSON file in the cache folder
 * (`$SPARSEBOOK_CACHE/matmul-tune.json`, default ~/.cache/sparsebook), keyed by adapter and shape
 * class (kernels/matmul-tune-cache.ts). A missing or unreadable file is an empty cache; a failed
 * write only loses the persistence.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MatmulVariant } from '../kernels/matmul';
import { setMatmulTuneStore, type TuneStore } from '../kernels/matmul-tune-cache';
import { cacheRoot } from './hub-cache';

export function fileTuneStore(file = path.join(cacheRoot(), 'matmul-tune.json')): TuneStore {
  return {
    load() {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as Record<string, MatmulVariant>;
      } catch {
        return {};
      }
    },
    save(entries) {
      try {
        mkdirSync(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(entries, null, 1));
        renameSync(tmp, file); // whole or not at all, if two processes write at once
      } catch {
        // A read-only cache folder: the choices still hold for this process.
      }
    },
  };
}

/** Use the file store for this process (the CLI and benchmarks on WebGPU). */
export function useFileTuneStore(file?: string): void {
  setMatmulTuneStore(fileTuneStore(file));
}
