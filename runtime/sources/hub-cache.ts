/**
 * Where a browser keeps the hub files it downloaded (runtime/sources/hub-model.ts): an interface
 * keyed by repository, revision, file and ETag, so a second load (also after a page reload) reads
 * the weights from disk and only asks the hub whether the ETag is still the same. The browser's
 * implementation is opfs-hub-cache.ts; `memoryHubCache` serves tests.
 *
 * A file becomes visible to `open` only once `commit` has run after every byte was written: a
 * failed, cancelled or truncated download never leaves a file a later load would use.
 */

/** One cached file: `file` of `repo` at `revision`, with the content the hub's `etag` names. */
export interface HubCacheKey {
  /** `ORG/NAME`. */
  repo: string;
  revision: string;
  /** Path inside the repository. */
  file: string;
  /** The ETag the hub sent (for LFS files the SHA-256 of the content). */
  etag: string;
}

export interface HubCacheReader {
  readonly size: number;
  /** Bytes [begin, end) of the file. */
  read(begin: number, end: number): Promise<Uint8Array>;
}

export interface HubCacheWriter {
  /** Write `bytes` at byte `at` (any order). */
  write(bytes: Uint8Array, at: number): Promise<void>;
  /** Make the file visible under its key (and drop older versions of it). */
  commit(): Promise<void>;
  /** Drop what was written. */
  abort(): Promise<void>;
}

/** The file cannot be cached: the site's storage quota is (or would be) exceeded. */
export class HubCacheFullError extends Error {
  override name = 'HubCacheFullError';
}

export interface HubCache {
  /** The complete cached file of `size` bytes under `key`, or null. */
  open(key: HubCacheKey, size: number): Promise<HubCacheReader | null>;
  /**
   * Start writing `size` bytes under `key`.
   * @throws HubCacheFullError when the storage quota leaves no room for it.
   */
  create(key: HubCacheKey, size: number): Promise<HubCacheWriter>;
}

/** One repository revision in a cache listing. */
export interface HubCacheEntry {
  repo: string;
  revision: string;
  files: { file: string; etag: string; size: number }[];
  /** Sum of the files' sizes. */
  bytes: number;
  /** Latest modification of its files (ms since the epoch), 0 when unknown. */
  modified: number;
}

/** Whether `e` is the browser's quota error (DOMException QuotaExceededError) or ours. */
export function isQuotaError(e: unknown): boolean {
  return (
    e instanceof HubCacheFullError ||
    (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'QuotaExceededError')
  );
}

/**
 * A cache in memory (tests): same contract as the browser's, with an optional byte quota. `files`
 * holds the committed files by `repo@revision/file#etag`.
 */
export function memoryHubCache(options: { quotaBytes?: number } = {}): HubCache & {
  files: Map<string, Uint8Array>;
} {
  const files = new Map<string, Uint8Array>();
  const name = (k: HubCacheKey) => `${k.repo}@${k.revision}/${k.file}#${k.etag}`;
  const used = () => [...files.values()].reduce((n, b) => n + b.byteLength, 0);
  return {
    files,
    open(key, size) {
      const b = files.get(name(key));
      if (!b || b.byteLength !== size) return Promise.resolve(null);
      return Promise.resolve({
        size,
        read: (begin, end) => Promise.resolve(b.slice(begin, end)),
      });
    },
    create(key, size) {
      const quota = options.quotaBytes ?? Infinity;
      if (used() + size > quota) {
        return Promise.reject(new HubCacheFullError(`${size} bytes do not fit the ${quota}-byte quota`));
      }
      let data: Uint8Array | undefined = new Uint8Array(size);
      return Promise.resolve({
        write(bytes, at) {
          if (!data) return Promise.reject(new Error('write after commit or abort'));
          data.set(bytes, at);
          return Promise.resolve();
        },
        commit() {
          if (!data) return Promise.reject(new Error('commit after commit or abort'));
          const prefix = `${key.repo}@${key.revision}/${key.file}#`;
          for (const k of [...files.keys()]) if (k.startsWith(prefix)) files.delete(k);
          files.set(name(key), data);
          data = undefined;
          return Promise.resolve();
        },
        abort() {
          data = undefined;
          return Promise.resolve();
        },
      });
    },
  };
}
