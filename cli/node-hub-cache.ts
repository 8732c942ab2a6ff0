/**
 * The hub cache of runtime/sources/hub-cache.ts on disk, in the CLI's layout
 * (`$SPARSEBOOK_CACHE/hub/ORG/NAME/REVISION/FILE`, its ETag in `FILE.etag`, as cli/hub-cache.ts
 * writes it), so a notebook run headless (`sparsebook report`) loads hub models and SAEs through
 * the same files `sparsebook eval --model hf:…` downloaded, and the other way round.
 *
 * A file is written to `FILE.<random>.partial` and renamed into place with its ETag only on
 * `commit`: an aborted or failed write leaves nothing a later load would use.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { HubCache, HubCacheKey } from '../runtime/sources/hub-cache';
import { cacheRoot } from './hub-cache';

/**
 * @example
 * const run = await runNotebook(doc, { backend: 'cpu', hub: { endpoint, token, cache: nodeHubCache() } });
 */
export function nodeHubCache(root: string = cacheRoot()): HubCache {
  const where = (k: HubCacheKey) =>
    path.join(root, 'hub', ...k.repo.split('/'), k.revision, ...k.file.split('/'));
  return {
    open(key, size) {
      const file = where(key);
      try {
        if (readFileSync(`${file}.etag`, 'utf8') !== key.etag || statSync(file).size !== size) {
          return Promise.resolve(null);
        }
      } catch {
        return Promise.resolve(null);
      }
      return Promise.resolve({
        size,
        async read(begin, end) {
          const fh = await open(file, 'r');
          try {
            const out = new Uint8Array(end - begin);
            const { bytesRead } = await fh.read(out, 0, out.byteLength, begin);
            if (bytesRead !== out.byteLength)
              throw new Error(`${file}: the cached file is shorter than ${end} bytes`);
            return out;
          } finally {
            await fh.close();
          }
        },
      });
    },
    async create(key, size) {
      const file = where(key);
      mkdirSync(path.dirname(file), { recursive: true });
      const partial = `${file}.${randomBytes(4).toString('hex')}.partial`;
      const fh = await open(partial, 'w');
      let isOpen = true;
      const close = async () => {
        if (isOpen) await fh.close();
        isOpen = false;
      };
      return {
        async write(bytes, at) {
          if (at + bytes.byteLength > size) throw new Error(`${key.file}: write past its ${size} bytes`);
          await fh.write(bytes, 0, bytes.byteLength, at);
        },
        async commit() {
          await close();
          rmSync(`${file}.etag`, { force: true });
          renameSync(partial, file);
          writeFileSync(`${file}.etag`, key.etag);
        },
        async abort() {
          await close().catch(() => undefined);
          rmSync(partial, { force: true });
        },
      };
    },
  };
}
