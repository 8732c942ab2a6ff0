/**
 * The notebook store in IndexedDB (database `sparsebook`): autosaved notebooks, cached cell results
 * (Arrow IPC bytes) and user-picked model files, so a reload restores everything without re-running
 * or re-picking. Notebooks are stored as JSON text and go through migration + validation on load,
 * exactly like a file: an autosave written by an older build opens, and a damaged one is refused
 * with a message instead of crashing the app.
 */

import type { NotebookDoc, ParamValue } from './document';
import { openDatabase, transact, type Upgrade } from './idb';
import { loadNotebookValue } from './migrate';
import { parseJson, serializeNotebook } from './notebook-file';
import type { ValidateOptions } from './schema';
import { StorageError } from './storage-error';

/** The database name. */
export const DATABASE_NAME = 'sparsebook';

const NOTEBOOKS = 'notebooks';
const NOTEBOOK_INDEX = 'notebook-index';
const RESULTS = 'results';
const BLOBS = 'blobs';

/**
 * Schema upgrades, one per database version (`UPGRADES[v]` takes version v to v + 1). Never edit a
 * shipped step: add a new one, so every user's database reaches the same shape.
 */
const UPGRADES: readonly Upgrade[] = [
  (db) => {
    // The document text and its list entry live apart so listing notebooks reads no documents.
    db.createObjectStore(NOTEBOOKS, { keyPath: 'id' });
    db.createObjectStore(NOTEBOOK_INDEX, { keyPath: 'id' });
    // Keyed [cellId, key]: all results of one cell form one key range, deletable in one call.
    db.createObjectStore(RESULTS, { keyPath: ['cellId', 'key'] });
    db.createObjectStore(BLOBS, { keyPath: 'hash' });
  },
];

/** The database version this build opens. */
export const DATABASE_VERSION = UPGRADES.length;

/** One saved notebook in the list. */
export interface NotebookSummary {
  id: string;
  title: string;
  cellCount: number;
  /** Milliseconds since the epoch. */
  updatedAt: number;
}

/** Metadata saved beside a result's bytes (plain JSON: schema name, row count, elapsed ms, …). */
export type ResultMeta = Record<string, ParamValue>;

/** A cached cell result. */
export interface StoredResult {
  bytes: Uint8Array;
  meta: ResultMeta;
  savedAt: number;
}

/** A stored file (a user-picked model or tokenizer). */
export interface StoredBlob {
  hash: string;
  /** The file's original name, to show and to choose a parser by. */
  name: string;
  bytes: Uint8Array;
  savedAt: number;
}

/** Options for {@link openNotebookStore}. */
export interface NotebookStoreOptions {
  /** Database name; tests use a fresh one each. Default `sparsebook`. */
  name?: string;
  /** The IndexedDB factory. Default `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
  /** Clock for `updatedAt`/`savedAt`. Default `Date.now`. */
  now?: () => number;
}

/** The opened store. Every method rejects with a StorageError (kind `quota` when storage is full). */
export interface NotebookStore {
  /**
   * Save (or replace) notebook `id`. The write starts before this returns (see createAutosave's
   * flushNow): call it from a `pagehide` handler without awaiting anything first.
   */
  saveNotebook(id: string, doc: NotebookDoc): Promise<void>;
  /** Notebook `id`, migrated and validated (NotebookError, source `autosave`, when damaged); undefined if absent. */
  loadNotebook(id: string, options?: ValidateOptions): Promise<NotebookDoc | undefined>;
  /** All saved notebooks, most recently updated first. */
  listNotebooks(): Promise<NotebookSummary[]>;
  /** Delete notebook `id` and the cached results of its cells. */
  deleteNotebook(id: string): Promise<void>;
  /** Cache a cell's result under `key`, replacing any older result of that cell. */
  saveResult(cellId: string, key: string, bytes: Uint8Array, meta?: ResultMeta): Promise<void>;
  /** The cached result of `cellId` for exactly `key`; undefined when absent or stale. */
  loadResult(cellId: string, key: string): Promise<StoredResult | undefined>;
  /** Forget every cached result of `cellId`. */
  deleteResultsFor(cellId: string): Promise<void>;
  /** Store a file's bytes under its content hash (see hashBytes). */
  putBlob(hash: string, name: string, bytes: Uint8Array): Promise<void>;
  /** The file stored under `hash`, or undefined. */
  getBlob(hash: string): Promise<StoredBlob | undefined>;
  /** Remove the file stored under `hash`. */
  deleteBlob(hash: string): Promise<void>;
  /** Close the database connection; the store cannot be used afterwards. */
  close(): void;
}

/**
 * Open (creating or upgrading as needed) the notebook store.
 *
 * @example
 * const store = await openNotebookStore();
 * await store.saveNotebook('current', doc);
 * const restored = await store.loadNotebook('current'); // after a reload
 * const hit = await store.loadResult(cell.id, await resultKey({ kind, params, inputKeys }));
 */
export async function openNotebookStore(options: NotebookStoreOptions = {}): Promise<NotebookStore> {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  const name = options.name ?? DATABASE_NAME;
  if (!factory) {
    throw new StorageError(
      'unavailable',
      'open storage',
      'This browser offers no IndexedDB (private browsing?), so notebooks cannot be saved between visits.',
    );
  }
  const now = options.now ?? Date.now;
  const db = await openDatabase(factory, name, UPGRADES);

  return {
    saveNotebook(id, doc) {
      // Stored as text: a Svelte $state proxy cannot be structured-cloned, and text is what the
      // loader checks anyway.
      const text = serializeNotebook(doc);
      const summary: NotebookSummary = {
        id,
        title: doc.title,
        cellCount: doc.cells.length,
        updatedAt: now(),
      };
      // The transaction and both puts are made before this returns, and commit() sends them off at
      // once instead of when this task's event loop turn ends: a save started in a `pagehide`
      // handler then reaches the database even if the page is gone before its promise settles.
      return transact(db, [NOTEBOOKS, NOTEBOOK_INDEX], 'readwrite', `save notebook "${doc.title}"`, (tx) => {
        tx.objectStore(NOTEBOOKS).put({ id, text });
        tx.objectStore(NOTEBOOK_INDEX).put(summary);
        tx.commit?.(); // absent before Chromium 76 / Firefox 74 / Safari 15: then it autocommits
      });
    },

    async loadNotebook(id, validate = {}) {
      const record = await transact<{ text: string } | undefined>(
        db,
        [NOTEBOOKS],
        'readonly',
        'load notebook',
        (tx, done) => {
          const req = tx.objectStore(NOTEBOOKS).get(id);
          req.onsuccess = () => done(req.result as { text: string } | undefined);
        },
      );
      if (!record) return undefined;
      return loadNotebookValue(parseJson(record.text, 'autosave'), 'autosave', validate);
    },

    listNotebooks() {
      return transact<NotebookSummary[]>(db, [NOTEBOOK_INDEX], 'readonly', 'list notebooks', (tx, done) => {
        const req = tx.objectStore(NOTEBOOK_INDEX).getAll();
        req.onsuccess = () =>
          done((req.result as NotebookSummary[]).sort((a, b) => b.updatedAt - a.updatedAt));
      });
    },

    deleteNotebook(id) {
      return transact(db, [NOTEBOOKS, NOTEBOOK_INDEX, RESULTS], 'readwrite', 'delete notebook', (tx) => {
        const notebooks = tx.objectStore(NOTEBOOKS);
        const req = notebooks.get(id);
        req.onsuccess = () => {
          const record = req.result as { text: string } | undefined;
          for (const cellId of cellIdsOf(record?.text)) tx.objectStore(RESULTS).delete(cellRange(cellId));
          notebooks.delete(id);
          tx.objectStore(NOTEBOOK_INDEX).delete(id);
        };
      });
    },

    saveResult(cellId, key, bytes, meta = {}) {
      const record = { cellId, key, bytes: ownBytes(bytes), meta, savedAt: now() };
      return transact(db, [RESULTS], 'readwrite', `cache the result of cell "${cellId}"`, (tx) => {
        const results = tx.objectStore(RESULTS);
        // One result per cell: older keys are stale parameters, and keeping them would grow forever.
        results.delete(cellRange(cellId));
        results.put(record);
      });
    },

    loadResult(cellId, key) {
      return transact<StoredResult | undefined>(
        db,
        [RESULTS],
        'readonly',
        'load a cached result',
        (tx, done) => {
          const req = tx.objectStore(RESULTS).get([cellId, key]);
          req.onsuccess = () => {
            const r = req.result as (StoredResult & { cellId: string; key: string }) | undefined;
            done(r && { bytes: r.bytes, meta: r.meta, savedAt: r.savedAt });
          };
        },
      );
    },

    deleteResultsFor(cellId) {
      return transact(db, [RESULTS], 'readwrite', `delete the results of cell "${cellId}"`, (tx) => {
        tx.objectStore(RESULTS).delete(cellRange(cellId));
      });
    },

    putBlob(hash, blobName, bytes) {
      const record: StoredBlob = { hash, name: blobName, bytes: ownBytes(bytes), savedAt: now() };
      return transact(db, [BLOBS], 'readwrite', `store the file "${blobName}"`, (tx) => {
        tx.objectStore(BLOBS).put(record);
      });
    },

    getBlob(hash) {
      return transact<StoredBlob | undefined>(db, [BLOBS], 'readonly', 'load a stored file', (tx, done) => {
        const req = tx.objectStore(BLOBS).get(hash);
        req.onsuccess = () => done(req.result as StoredBlob | undefined);
      });
    },

    deleteBlob(hash) {
      return transact(db, [BLOBS], 'readwrite', 'delete a stored file', (tx) => {
        tx.objectStore(BLOBS).delete(hash);
      });
    },

    close() {
      db.close();
    },
  };
}

/** Every [cellId, key] with this cellId: arrays sort after strings, so `[cellId, []]` bounds them. */
function cellRange(cellId: string): IDBKeyRange {
  return IDBKeyRange.bound([cellId], [cellId, []]);
}

/**
 * The bytes as their own buffer: structured clone copies a view's whole underlying buffer, so a
 * small subarray of a large ArrayBuffer would otherwise store all of it (and a SharedArrayBuffer
 * cannot be stored at all).
 */
function ownBytes(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
}

/** Cell ids in a stored notebook text, tolerating damage (deleting must work on a broken notebook). */
function cellIdsOf(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const cells = (JSON.parse(text) as { cells?: unknown }).cells;
    if (!Array.isArray(cells)) return [];
    return cells.map((c: { id?: unknown }) => c?.id).filter((id): id is string => typeof id === 'string');
  } catch {
    return [];
  }
}
