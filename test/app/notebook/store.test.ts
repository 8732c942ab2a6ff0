import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NotebookDoc } from '../../../app/notebook/document';
import { NotebookError } from '../../../app/notebook/notebook-error';
import { DATABASE_VERSION, openNotebookStore, type NotebookStore } from '../../../app/notebook/store';
import { StorageError, toStorageError } from '../../../app/notebook/storage-error';
import { sampleNotebook } from './persistence-fixtures';

let dbCounter = 0;
const opened: NotebookStore[] = [];

/** A fresh database per test, with a controllable clock. */
async function fresh(name = `sparsebook-test-${++dbCounter}`, now = () => 1000) {
  const store = await openNotebookStore({ name, now });
  opened.push(store);
  return { store, name };
}

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

describe('notebook store', () => {
  it('is at database version 1', () => {
    expect(DATABASE_VERSION).toBe(1);
  });

  it('saves and loads a notebook, and a reload (close + reopen) finds it', async () => {
    const { store, name } = await fresh();
    await store.saveNotebook('current', sampleNotebook());
    expect(await store.loadNotebook('current')).toEqual(sampleNotebook());
    store.close();
    const reopened = await openNotebookStore({ name });
    opened.push(reopened);
    expect(await reopened.loadNotebook('current')).toEqual(sampleNotebook());
    expect(await reopened.loadNotebook('missing')).toBeUndefined();
  });

  it('stores a snapshot: later mutation of the saved object does not leak in', async () => {
    const { store } = await fresh();
    const doc = sampleNotebook();
    await store.saveNotebook('n', doc);
    doc.title = 'changed';
    expect((await store.loadNotebook('n'))!.title).toBe(sampleNotebook().title);
  });

  it('saves a Proxy-wrapped document (as a Svelte $state proxy would be)', async () => {
    const { store } = await fresh();
    const wrap = (o: object): object =>
      new Proxy(o, {
        get: (t, k) => {
          const v: unknown = Reflect.get(t, k);
          return typeof v === 'object' && v !== null ? wrap(v) : v;
        },
      });
    expect(() => structuredClone(wrap({}))).toThrow(); // why the store saves text, not objects
    await store.saveNotebook('p', wrap(sampleNotebook()) as NotebookDoc);
    expect(await store.loadNotebook('p')).toEqual(sampleNotebook());
  });

  it('lists notebooks newest first without loading them, and deletes', async () => {
    let t = 1;
    const { store } = await fresh(undefined, () => t++);
    await store.saveNotebook('a', { ...sampleNotebook(), title: 'A' });
    await store.saveNotebook('b', { ...sampleNotebook(), title: 'B', cells: [] });
    await store.saveNotebook('a', { ...sampleNotebook(), title: 'A2' });
    expect(await store.listNotebooks()).toEqual([
      { id: 'a', title: 'A2', cellCount: 4, updatedAt: 3 },
      { id: 'b', title: 'B', cellCount: 0, updatedAt: 2 },
    ]);
    await store.deleteNotebook('a');
    expect((await store.listNotebooks()).map((s) => s.id)).toEqual(['b']);
    expect(await store.loadNotebook('a')).toBeUndefined();
  });

  it('saves started back to back, unawaited (a pagehide flush), land in the order they started', async () => {
    const { store } = await fresh();
    const first = store.saveNotebook('n', { ...sampleNotebook(), title: 'first' });
    const second = store.saveNotebook('n', { ...sampleNotebook(), title: 'second' });
    await Promise.all([first, second]);
    expect((await store.loadNotebook('n'))!.title).toBe('second');
    expect((await store.listNotebooks()).map((s) => s.title)).toEqual(['second']);
  });

  it('keeps notebooks by id: saving one never touches another', async () => {
    const { store } = await fresh();
    await store.saveNotebook('mine', { ...sampleNotebook(), title: 'Mine' });
    await store.saveNotebook('link', { ...sampleNotebook(), title: 'From a link' });
    expect((await store.loadNotebook('mine'))!.title).toBe('Mine');
    expect((await store.listNotebooks()).map((s) => s.id).sort()).toEqual(['link', 'mine']);
  });

  it('refuses a damaged autosave with a NotebookError naming "autosave"', async () => {
    const { store, name } = await fresh();
    await store.saveNotebook('n', sampleNotebook());
    // Damage the stored text behind the store's back.
    const db = await new Promise<IDBDatabase>((resolve) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => resolve(req.result);
    });
    await new Promise<void>((resolve) => {
      const tx = db.transaction('notebooks', 'readwrite');
      tx.objectStore('notebooks').put({ id: 'n', text: '{"format": "sparsebook-notebook", "version": 99}' });
      tx.oncomplete = () => resolve();
    });
    db.close();
    const err = await store.loadNotebook('n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotebookError);
    expect((err as NotebookError).message).toBe(
      'autosave: was written by a newer Sparsebook (version 99); this build reads up to 2',
    );
  });

  describe('results', () => {
    it('saves and loads a result by cell and key; a reload restores it', async () => {
      const { store, name } = await fresh();
      const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i & 255);
      await store.saveResult('v1', 'k1', bytes, { rows: 12, schema: 'attention' });
      store.close();
      const reopened = await openNotebookStore({ name });
      opened.push(reopened);
      const r = await reopened.loadResult('v1', 'k1');
      expect(r).toEqual({ bytes, meta: { rows: 12, schema: 'attention' }, savedAt: 1000 });
      expect(r!.bytes).toBeInstanceOf(Uint8Array);
      expect(await reopened.loadResult('v1', 'other-key')).toBeUndefined();
      expect(await reopened.loadResult('other-cell', 'k1')).toBeUndefined();
    });

    it('keeps one result per cell: a new key replaces the old', async () => {
      const { store } = await fresh();
      await store.saveResult('v1', 'k1', new Uint8Array([1]));
      await store.saveResult('v1', 'k2', new Uint8Array([2]));
      await store.saveResult('v10', 'k1', new Uint8Array([3])); // a prefix-sharing id is another cell
      expect(await store.loadResult('v1', 'k1')).toBeUndefined();
      expect((await store.loadResult('v1', 'k2'))!.bytes).toEqual(new Uint8Array([2]));
      expect((await store.loadResult('v10', 'k1'))!.bytes).toEqual(new Uint8Array([3]));
    });

    it('stores only the viewed bytes of a subarray', async () => {
      const { store } = await fresh();
      const big = new Uint8Array(1 << 20).fill(7);
      await store.saveResult('c', 'k', big.subarray(10, 14));
      const r = await store.loadResult('c', 'k');
      expect(r!.bytes).toEqual(new Uint8Array([7, 7, 7, 7]));
      expect(r!.bytes.buffer.byteLength).toBe(4);
    });

    it('deletes the results of one cell only', async () => {
      const { store } = await fresh();
      await store.saveResult('a', 'k', new Uint8Array([1]));
      await store.saveResult('b', 'k', new Uint8Array([2]));
      await store.deleteResultsFor('a');
      expect(await store.loadResult('a', 'k')).toBeUndefined();
      expect(await store.loadResult('b', 'k')).toBeDefined();
    });

    it('deleting a notebook deletes its cells’ results', async () => {
      const { store } = await fresh();
      await store.saveNotebook('n', sampleNotebook());
      await store.saveResult('v1', 'k', new Uint8Array([1]));
      await store.saveResult('elsewhere', 'k', new Uint8Array([2]));
      await store.deleteNotebook('n');
      expect(await store.loadResult('v1', 'k')).toBeUndefined();
      expect(await store.loadResult('elsewhere', 'k')).toBeDefined();
    });
  });

  describe('blobs', () => {
    it('stores a picked file and gets it back after a reload', async () => {
      const { store, name } = await fresh();
      const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 13) & 255);
      await store.putBlob('abc123', 'stories260K.bin', bytes);
      store.close();
      const reopened = await openNotebookStore({ name });
      opened.push(reopened);
      expect(await reopened.getBlob('abc123')).toEqual({
        hash: 'abc123',
        name: 'stories260K.bin',
        bytes,
        savedAt: expect.any(Number),
      });
      await reopened.deleteBlob('abc123');
      expect(await reopened.getBlob('abc123')).toBeUndefined();
    });
  });

  describe('errors', () => {
    it('reports a full disk as a quota StorageError naming the action', async () => {
      const { store } = await fresh();
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function () {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      };
      try {
        const err = await store.saveNotebook('n', sampleNotebook()).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).kind).toBe('quota');
        expect((err as StorageError).message).toMatch(
          /^Browser storage is full: could not save notebook "Attention in stories260K"\./,
        );
      } finally {
        IDBObjectStore.prototype.put = put;
      }
      // Nothing half-written: the transaction was aborted as a whole.
      expect(await store.listNotebooks()).toEqual([]);
    });

    it('reports use after close as a closed StorageError', async () => {
      const { store } = await fresh();
      store.close();
      const err = await store.loadNotebook('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).kind).toBe('closed');
    });

    it('reports a missing IndexedDB (some private modes) as unavailable', async () => {
      vi.stubGlobal('indexedDB', undefined);
      try {
        const err = await openNotebookStore().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).kind).toBe('unavailable');
      } finally {
        vi.unstubAllGlobals();
      }
    });

    it('refuses a database written by a newer build, and steps aside for one', async () => {
      const name = `sparsebook-test-${++dbCounter}`;
      const store = await openNotebookStore({ name });
      // A newer build in another tab upgrades: this connection closes instead of blocking it.
      const newer = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name, DATABASE_VERSION + 1);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      newer.close();
      expect((await store.listNotebooks().catch((e: unknown) => e)) as StorageError).toMatchObject({
        kind: 'closed',
      });
      const err = await openNotebookStore({ name }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).kind).toBe('version');
    });

    it('maps other DOMExceptions', () => {
      expect(toStorageError(new DOMException('x', 'NS_ERROR_DOM_QUOTA_REACHED'), 'a').kind).toBe('quota');
      expect(toStorageError(new DOMException('x', 'VersionError'), 'a').kind).toBe('version');
      const other = toStorageError(new DOMException('boom', 'UnknownError'), 'save');
      expect([other.kind, other.message]).toEqual(['failed', 'Could not save: UnknownError: boom']);
    });
  });
});
