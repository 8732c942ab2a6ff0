/**
 * The two IndexedDB shapes the store needs, as promises: open with a stepwise upgrade, and one
 * transaction whose result is delivered only when it has committed (a put is not durable until
 * `complete`, and a quota failure arrives as an abort after the request itself succeeded).
 */

import { toStorageError } from './storage-error';

/** Upgrade step `i` turns a database at version i into version i + 1. */
export type Upgrade = (db: IDBDatabase, tx: IDBTransaction) => void;

/**
 * Open `name` at version `upgrades.length`, running the upgrades it has not seen yet.
 *
 * @example
 * const db = await openDatabase(indexedDB, 'sparsebook', [(db) => db.createObjectStore('x')]);
 */
export function openDatabase(
  factory: IDBFactory,
  name: string,
  upgrades: readonly Upgrade[],
): Promise<IDBDatabase> {
  const action = `open the "${name}" database`;
  return new Promise((resolve, reject) => {
    let req: IDBOpenDBRequest;
    try {
      req = factory.open(name, upgrades.length);
    } catch (e) {
      reject(toStorageError(e, action));
      return;
    }
    req.onupgradeneeded = (ev) => {
      const db = req.result;
      const tx = req.transaction!;
      for (let v = ev.oldVersion; v < upgrades.length; v++) upgrades[v]!(db, tx);
    };
    req.onsuccess = () => {
      const db = req.result;
      // Another tab wants a newer version: step aside instead of blocking its upgrade forever.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = () => reject(toStorageError(req.error, action));
    // `blocked` only means an older tab still has the database open; it closes on versionchange,
    // after which this request proceeds, so there is nothing to do here.
  });
}

/**
 * Run `body` in one transaction and resolve with what it passed to `done` once the transaction has
 * committed. Any failure (a thrown error, a failed request, an abort for quota) rejects with a
 * StorageError describing `action`.
 *
 * @example
 * const doc = await transact(db, ['notebooks'], 'readonly', 'load notebook', (tx, done) => {
 *   const req = tx.objectStore('notebooks').get(id);
 *   req.onsuccess = () => done(req.result);
 * });
 */
export function transact<R = void>(
  db: IDBDatabase,
  stores: string[],
  mode: IDBTransactionMode,
  action: string,
  body: (tx: IDBTransaction, done: (result: R) => void) => void,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let tx: IDBTransaction;
    try {
      tx = db.transaction(stores, mode);
    } catch (e) {
      reject(toStorageError(e, action));
      return;
    }
    let result: R | undefined;
    let failure: unknown;
    tx.oncomplete = () => resolve(result as R);
    tx.onabort = () =>
      reject(toStorageError(failure ?? tx.error ?? new DOMException('aborted', 'AbortError'), action));
    try {
      body(tx, (r) => (result = r));
    } catch (e) {
      failure = e;
      try {
        tx.abort();
      } catch {
        reject(toStorageError(e, action)); // already finished; abort cannot report it
      }
    }
  });
}
