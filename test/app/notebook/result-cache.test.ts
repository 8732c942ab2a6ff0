/**
 * Cell results cached in the store: a result that cannot be stored (browser storage full) is
 * reported for the user to see, never silently dropped, and the run that made it is not failed.
 */
import 'fake-indexeddb/auto';
import { tableToIPC, tableFromArrays } from 'apache-arrow';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CellResult } from '../../../app/notebook/cell-runtime';
import { storeResultCache } from '../../../app/notebook/result-cache';
import { openNotebookStore, type NotebookStore } from '../../../app/notebook/store';
import { StorageError } from '../../../app/notebook/storage-error';

let n = 0;
const opened: NotebookStore[] = [];

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

async function fresh(): Promise<NotebookStore> {
  const store = await openNotebookStore({ name: `sparsebook-results-${++n}` });
  opened.push(store);
  return store;
}

function result(): CellResult {
  return {
    meta: { rows: 3 },
    tables: { main: tableToIPC(tableFromArrays({ x: Float32Array.from([1, 2, 3]) })) },
  };
}

describe('storeResultCache', () => {
  it('stores a result and loads it back by cell and key', async () => {
    const store = await fresh();
    const onError = vi.fn();
    const cache = storeResultCache(() => store, onError);
    await cache.save('c1', 'k1', result());
    const back = await cache.load('c1', 'k1');
    expect(back?.meta).toEqual({ rows: 3 });
    expect(back?.tables.main).toEqual(result().tables.main);
    expect(await cache.load('c1', 'other')).toBeUndefined();
    expect(onError).not.toHaveBeenCalled();
  });

  it('reports a full disk to the user (a quota StorageError) instead of swallowing it', async () => {
    const store = await fresh();
    const onError = vi.fn();
    const cache = storeResultCache(() => store, onError);
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    try {
      await expect(cache.save('c1', 'k1', result())).resolves.toBeUndefined();
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(onError).toHaveBeenCalledTimes(1);
    const error = onError.mock.calls[0]![0] as StorageError;
    expect(error).toBeInstanceOf(StorageError);
    expect(error.kind).toBe('quota');
    expect(error.message).toMatch(/^Browser storage is full: could not cache the result of cell "c1"/);
  });

  it('without storage, neither saves nor reports', async () => {
    const onError = vi.fn();
    const cache = storeResultCache(() => undefined, onError);
    await cache.save('c1', 'k1', result());
    expect(await cache.load('c1', 'k1')).toBeUndefined();
    expect(onError).not.toHaveBeenCalled();
  });
});
