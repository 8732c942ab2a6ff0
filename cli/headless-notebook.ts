/**
 * A notebook run in Node as the app runs it: the real Scheduler and cell kinds, the runtime API
 * behind the real client (joined by a MessageChannel, as the worker tests do), and services that
 * read bundled files from public/ instead of fetching them. Only the hub, when given (`hub`), is
 * reached over the network.
 */
import { expose } from 'comlink';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CellServices } from '../app/cells/cell-kind';
import { kindOf } from '../app/cells/kinds';
import type { CellRuntime } from '../app/notebook/cell-runtime';
import type { NotebookDoc } from '../app/notebook/document';
import { Scheduler } from '../app/notebook/scheduler';
import { FetchError } from '../app/state/fetch-bytes';
import { createRuntimeApi } from '../workers/runtime-api';
import { createRuntimeClient, type WorkerLike } from '../workers/runtime-client';
import type { BackendInfo } from '../workers/runtime-types';
import type { HubCache } from '../runtime/sources/hub-cache';
import { createBackend } from './session';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The app's static files: what a relative URL (`./models/…`, `models/corpus/…`) names. */
export const PUBLIC_DIR = path.join(repoRoot, 'public');

export interface HeadlessOptions {
  backend: 'cpu' | 'webgpu';
  /** Bytes of picked files by content hash (model cells with `source: 'files'`). */
  blobs?: ReadonlyMap<string, Uint8Array>;
  publicDir?: string;
  /**
   * The hub for cells that read from it (a Model cell's Hugging Face source, an SAE cell's
   * pretrained SAE): endpoint, access token (a request header only) and the cache. Without it
   * such cells fail, saying the hub cannot be reached.
   */
  hub?: { endpoint: string; token: string; cache: HubCache };
  /** Called whenever a cell's runtime state changes. */
  onChange?: (cellId: string, runtime: CellRuntime) => void;
}

export interface HeadlessRun {
  backend: BackendInfo;
  runtime(id: string): CellRuntime;
}

/**
 * Run every cell of `doc` once, in order, and resolve when nothing is left to run.
 *
 * @example
 * const run = await runNotebook(doc, { backend: 'cpu' });
 * run.runtime('loss').status; // 'done'
 */
export async function runNotebook(doc: NotebookDoc, options: HeadlessOptions): Promise<HeadlessRun> {
  const { port1, port2 } = new MessageChannel();
  const hub = options.hub;
  expose(createRuntimeApi({ createBackend, hubCache: () => hub?.cache ?? null }), port1);
  const client = createRuntimeClient({
    createWorker: () => Object.assign(port2, { terminate: () => port2.close() }) as unknown as WorkerLike,
  });
  try {
    const backend = await client.init(options.backend);
    const publicDir = options.publicDir ?? PUBLIC_DIR;
    const services: CellServices = {
      runtime: client,
      backend: () => backend,
      getBlob: (hash) => Promise.resolve(options.blobs?.get(hash)),
      ...(hub ? { hub: () => ({ endpoint: hub.endpoint, token: hub.token }) } : {}),
      fetchBytes: async (url, { signal, onProgress }) => {
        signal.throwIfAborted();
        const bytes = await readLocalUrl(url, publicDir);
        onProgress?.({ loaded: bytes.byteLength, total: bytes.byteLength });
        return bytes;
      },
    };
    const scheduler = new Scheduler({
      kindOf,
      services,
      // The app's env: keys then match the app's, so a report made live finds its results current.
      env: () => ({ backend: options.backend }),
      onChange: (id, rt) => {
        if (rt) options.onChange?.(id, rt);
      },
    });
    scheduler.setDocument(doc);
    scheduler.runAll();
    await scheduler.idle();
    return { backend, runtime: (id) => scheduler.runtime(id) };
  } finally {
    client.dispose();
    port1.close();
  }
}

/**
 * The bytes a URL names, read from disk: `file:` URLs and absolute paths as they are, relative
 * URLs (and absolute ones with no such file, such as `/models/corpus/…`) under `publicDir`.
 * http(s) is refused: a headless run never downloads.
 *
 * @throws FetchError naming the URL.
 */
export async function readLocalUrl(url: string, publicDir: string = PUBLIC_DIR): Promise<ArrayBuffer> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !/^file:/i.test(url)) {
    throw new FetchError(
      url,
      /^https?:/i.test(url)
        ? 'sparsebook report does not download anything; save the file and pass it with --model (or use a bundled model)'
        : 'only file: URLs, paths and app-relative URLs can be read here',
    );
  }
  const candidates: string[] = [];
  if (/^file:/i.test(url)) candidates.push(fileURLToPath(url));
  else {
    const clean = decodeURIComponent(url.replace(/[?#].*$/, ''));
    if (path.isAbsolute(clean)) candidates.push(clean);
    const inPublic = path.resolve(publicDir, clean.replace(/^\/+/, ''));
    if (inPublic !== publicDir && !inPublic.startsWith(publicDir + path.sep))
      throw new FetchError(url, `is outside the app's files (${publicDir})`);
    candidates.push(inPublic);
  }
  for (const file of candidates) {
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) continue;
    const b = await readFile(file);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
  throw new FetchError(url, `no such file (looked for ${candidates.join(', ')})`);
}
