/**
 * The browser's hub cache (hub-cache.ts) in the Origin Private File System, shared by the runtime
 * worker (which reads and writes it while loading) and the page (whose cache panel lists and
 * deletes entries):
 *
 *   sparsebook-hub/ORG/NAME/@REVISION/FILE#ETAG      (FILE and ETAG URI-encoded)
 *
 * A file is written through `createWritable`, whose writes land in a swap file that replaces the
 * file's content only on `close()`: until the download commits, the file under its final name is
 * empty, and `open` only accepts a file of the size the hub announces. So a cancelled, failed or
 * truncated download, or a tab closed mid-way, never leaves bytes a later load would use. Committing
 * removes the file's other versions (older ETags) of the same revision.
 */
import {
  HubCacheFullError,
  type HubCache,
  type HubCacheEntry,
  type HubCacheKey,
  type HubCacheReader,
  type HubCacheWriter,
} from './hub-cache';

const ROOT = 'sparsebook-hub';

type Dir = FileSystemDirectoryHandle;

/** Entries of a directory (the async iterator the DOM typings of this TS version leave out). */
function entriesOf(dir: Dir): AsyncIterable<[string, FileSystemHandle]> {
  return (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();
}

function storage(): StorageManager | undefined {
  const s = (globalThis.navigator as Navigator | undefined)?.storage;
  return typeof s?.getDirectory === 'function' ? s : undefined;
}

/** Whether this context has an Origin Private File System to cache in. */
export function hasOpfs(): boolean {
  return storage() !== undefined;
}

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'NotFoundError' || name === 'TypeMismatchError';
}

const fileName = (k: Pick<HubCacheKey, 'file' | 'etag'>) =>
  `${encodeURIComponent(k.file)}#${encodeURIComponent(k.etag)}`;

/** The folder of `repo` at `revision` (created when asked), or null when it does not exist. */
async function revisionDir(repo: string, revision: string, create: boolean): Promise<Dir | null> {
  const s = storage();
  if (!s) return null;
  try {
    let dir = await s.getDirectory();
    for (const part of [ROOT, ...repo.split('/'), `@${revision}`]) {
      dir = await dir.getDirectoryHandle(part, { create });
    }
    return dir;
  } catch (e) {
    if (!create && isNotFound(e)) return null;
    throw e;
  }
}

/**
 * The OPFS hub cache.
 *
 * @example
 * const cache = hasOpfs() ? opfsHubCache() : null;
 * await loadHubModel(backend, id, { cache });
 */
export function opfsHubCache(): HubCache {
  return {
    async open(key, size): Promise<HubCacheReader | null> {
      const dir = await revisionDir(key.repo, key.revision, false);
      if (!dir) return null;
      let file: File;
      try {
        file = await (await dir.getFileHandle(fileName(key))).getFile();
      } catch (e) {
        if (isNotFound(e)) return null;
        throw e;
      }
      if (file.size !== size) return null;
      return {
        size,
        read: async (begin, end) => new Uint8Array(await file.slice(begin, end).arrayBuffer()),
      };
    },

    async create(key, size): Promise<HubCacheWriter> {
      const estimate = await storage()?.estimate?.();
      if (estimate?.quota !== undefined && estimate.usage !== undefined) {
        const free = estimate.quota - estimate.usage;
        if (free < size) {
          throw new HubCacheFullError(
            `${key.file} needs ${mb(size)}, and the site's storage has ${mb(Math.max(0, free))} free of its ${mb(estimate.quota)} quota`,
          );
        }
      }
      const dir = (await revisionDir(key.repo, key.revision, true))!;
      const name = fileName(key);
      const handle = await dir.getFileHandle(name, { create: true });
      const writable = await handle.createWritable({ keepExistingData: false });
      let open = true;
      const removeSelf = () => dir.removeEntry(name).catch(() => undefined);
      return {
        async write(bytes, at) {
          await writable.write({ type: 'write', position: at, data: bytes as Uint8Array<ArrayBuffer> });
        },
        async commit() {
          open = false;
          await writable.close();
          // Other versions of this file (older ETags) are out of date now.
          const prefix = `${encodeURIComponent(key.file)}#`;
          for await (const [n] of entriesOf(dir)) {
            if (n !== name && n.startsWith(prefix)) await dir.removeEntry(n).catch(() => undefined);
          }
        },
        async abort() {
          if (open) await writable.abort().catch(() => undefined);
          open = false;
          await removeSelf();
        },
      };
    },
  };
}

/**
 * Every cached repository revision with its files and sizes (complete files only: an empty file
 * left by a download in progress or interrupted is not listed).
 */
export async function listHubCache(): Promise<HubCacheEntry[]> {
  const s = storage();
  if (!s) return [];
  let root: Dir;
  try {
    root = await (await s.getDirectory()).getDirectoryHandle(ROOT);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
  const out: HubCacheEntry[] = [];
  for await (const [org, orgDir] of entriesOf(root)) {
    if (orgDir.kind !== 'directory') continue;
    for await (const [name, nameDir] of entriesOf(orgDir as Dir)) {
      if (nameDir.kind !== 'directory') continue;
      for await (const [rev, revDir] of entriesOf(nameDir as Dir)) {
        if (revDir.kind !== 'directory' || !rev.startsWith('@')) continue;
        const entry: HubCacheEntry = {
          repo: `${org}/${name}`,
          revision: rev.slice(1),
          files: [],
          bytes: 0,
          modified: 0,
        };
        for await (const [n, h] of entriesOf(revDir as Dir)) {
          const hash = n.lastIndexOf('#');
          if (h.kind !== 'file' || hash < 0) continue;
          const f = await (h as FileSystemFileHandle).getFile();
          if (f.size === 0) continue;
          entry.files.push({
            file: decodeURIComponent(n.slice(0, hash)),
            etag: decodeURIComponent(n.slice(hash + 1)),
            size: f.size,
          });
          entry.bytes += f.size;
          entry.modified = Math.max(entry.modified, f.lastModified);
        }
        entry.files.sort((a, b) => a.file.localeCompare(b.file));
        if (entry.files.length > 0) out.push(entry);
      }
    }
  }
  return out.sort((a, b) => b.modified - a.modified);
}

/** Delete one repository revision from the cache (and folders left empty). */
export async function deleteHubCacheEntry(repo: string, revision: string): Promise<void> {
  const s = storage();
  if (!s) return;
  const parts = [ROOT, ...repo.split('/')];
  const dirs: Dir[] = [await s.getDirectory()];
  try {
    for (const p of parts) dirs.push(await dirs.at(-1)!.getDirectoryHandle(p));
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  await dirs
    .at(-1)!
    .removeEntry(`@${revision}`, { recursive: true })
    .catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  // Remove NAME, then ORG, when nothing is left in them.
  for (let i = dirs.length - 1; i >= 2; i--) {
    let empty = true;
    for await (const _ of entriesOf(dirs[i]!)) {
      empty = false;
      break;
    }
    if (!empty) break;
    await dirs[i - 1]!.removeEntry(parts[i - 1]!).catch(() => undefined);
  }
}

function mb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
