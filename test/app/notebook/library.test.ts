/**
 * The notebook library over a real (fake-indexeddb) store: links and demos become new notebooks,
 * the user's stays untouched; an unreadable saved notebook is kept byte for byte while a new one is
 * used; two tabs sharing a lock manager never get the same record; the Web Locks adapter waits out a
 * reload's lock hand-over but not another tab's.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chooseStartupNotebook,
  lockName,
  newNotebookId,
  openStored,
  UnreadableNotebook,
  webLocks,
  type LockManagerLike,
  type NotebookLocks,
} from '../../../app/notebook/library';
import type { NotebookDoc } from '../../../app/notebook/document';
import { DATABASE_VERSION, openNotebookStore, type NotebookStore } from '../../../app/notebook/store';
import { sampleNotebook } from './persistence-fixtures';

let dbCounter = 0;
const opened: NotebookStore[] = [];

async function freshStore(): Promise<{ store: NotebookStore; name: string }> {
  const name = `sparsebook-library-${++dbCounter}`;
  let t = 1000;
  const store = await openNotebookStore({ name, now: () => (t += 1000) });
  opened.push(store);
  return { store, name };
}

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

function titled(title: string): NotebookDoc {
  return { ...sampleNotebook(), title };
}

/**
 * An in-memory LockManager with the Web Locks semantics used here: one holder per name, waiters
 * granted in order, a waiter's AbortSignal withdraws its request with an AbortError.
 */
function fakeLockManager(): LockManagerLike & { held: Set<string> } {
  const held = new Set<string>();
  const waiting = new Map<string, (() => void)[]>();
  const grant = (name: string, run: () => Promise<void>) => {
    held.add(name);
    void run().finally(() => {
      held.delete(name);
      waiting.get(name)?.shift()?.();
    });
  };
  return {
    held,
    request(name, options, callback) {
      return new Promise((resolve, reject) => {
        const run = () => callback({ name }).then(resolve, reject);
        if (!held.has(name)) return grant(name, run);
        const queue = waiting.get(name) ?? [];
        waiting.set(name, queue);
        const start = () => grant(name, run);
        queue.push(start);
        options.signal?.addEventListener('abort', () => {
          const i = queue.indexOf(start);
          if (i >= 0) queue.splice(i, 1);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    },
  };
}

/** Locks for tests: a shared fake manager and a short wait. */
function locksOn(manager: LockManagerLike, waitMs = 20): NotebookLocks {
  return webLocks(manager, waitMs);
}

/** Raw record text, as stored (to prove it was not rewritten). */
async function rawText(name: string, id: string): Promise<string | undefined> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name, DATABASE_VERSION);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  try {
    return await new Promise((resolve, reject) => {
      const req = db.transaction('notebooks').objectStore('notebooks').get(id);
      req.onsuccess = () => resolve((req.result as { text: string } | undefined)?.text);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

/** Put a record as another build would have written it. */
async function putRaw(name: string, id: string, text: string, updatedAt: number): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name, DATABASE_VERSION);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(['notebooks', 'notebook-index'], 'readwrite');
    tx.objectStore('notebooks').put({ id, text });
    tx.objectStore('notebook-index').put({ id, title: 'From the future', cellCount: 0, updatedAt });
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

describe('notebook library', () => {
  it('gives every new notebook its own id', () => {
    const ids = new Set(Array.from({ length: 200 }, newNotebookId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^nb-[0-9a-f]{16}$/);
  });

  it('a first visit opens the fallback as a new notebook', async () => {
    const { store } = await freshStore();
    const { opened: nb } = await chooseStartupNotebook({
      store,
      locks: locksOn(fakeLockManager()),
      fallback: () => titled('Getting started'),
    });
    expect(nb.origin).toBe('new');
    expect(nb.doc.title).toBe('Getting started');
    expect(nb.id).toMatch(/^nb-/);
  });

  it('a link opens as a new notebook; the user’s notebook stays in the list, untouched', async () => {
    const { store, name } = await freshStore();
    await store.saveNotebook('mine', titled('My own work'));
    const before = await rawText(name, 'mine');
    const { opened: nb } = await chooseStartupNotebook({
      store,
      locks: locksOn(fakeLockManager()),
      incoming: titled('Shared'),
      lastId: 'mine', // even in the tab that had the user's notebook open
      fallback: () => titled('Getting started'),
    });
    expect(nb.origin).toBe('new');
    expect(nb.id).not.toBe('mine');
    await store.saveNotebook(nb.id, nb.doc); // what the app does with a new entry
    expect((await store.listNotebooks()).map((s) => s.title)).toEqual(['Shared', 'My own work']);
    expect(await rawText(name, 'mine')).toBe(before);
    expect((await store.loadNotebook('mine'))!.title).toBe('My own work');
  });

  it('reopens the tab’s own notebook after a reload, else the most recently modified', async () => {
    const { store } = await freshStore();
    await store.saveNotebook('older', titled('Older'));
    await store.saveNotebook('newer', titled('Newer'));
    const locks = locksOn(fakeLockManager());
    const fallback = () => titled('Getting started');
    const reload = await chooseStartupNotebook({ store, locks, lastId: 'older', fallback });
    expect([reload.opened.id, reload.opened.origin]).toEqual(['older', 'saved']);
    const newTab = await chooseStartupNotebook({ store, locks, lastId: 'gone', fallback });
    expect([newTab.opened.id, newTab.opened.doc.title]).toEqual(['newer', 'Newer']);
  });

  it.each([
    ['written by a newer build', JSON.stringify({ ...titled('x'), version: 99 })],
    ['damaged', '{"format": "sparsebook-notebook", "version": 2, "cells": [{'],
  ])('keeps an unreadable saved notebook (%s) byte for byte and opens a new one', async (_why, text) => {
    const { store, name } = await freshStore();
    await store.saveNotebook('mine', titled('Mine'));
    await putRaw(name, 'future', text, 1e12);
    const choice = await chooseStartupNotebook({
      store,
      locks: locksOn(fakeLockManager()),
      fallback: () => titled('Getting started'),
    });
    expect(choice.unreadable).toBeInstanceOf(UnreadableNotebook);
    expect(choice.unreadable!.summary.id).toBe('future');
    expect(choice.unreadable!.message).toMatch(/^“From the future” could not be read: /);
    expect(choice.opened.origin).toBe('new');
    expect(choice.opened.doc.title).toBe('Getting started');
    await store.saveNotebook(choice.opened.id, choice.opened.doc);
    expect(await rawText(name, 'future')).toBe(text);
    expect((await store.listNotebooks()).map((s) => s.id)).toContain('future');
  });

  it('a second tab on a notebook gets a copy under a new id; the first keeps the record', async () => {
    const { store } = await freshStore();
    await store.saveNotebook('shared', titled('Work'));
    const manager = fakeLockManager();
    const fallback = () => titled('Getting started');
    const one = await chooseStartupNotebook({ store, locks: locksOn(manager), fallback });
    expect([one.opened.id, one.opened.origin]).toEqual(['shared', 'saved']);
    expect(manager.held.has(lockName('shared'))).toBe(true);

    const two = await chooseStartupNotebook({ store, locks: locksOn(manager), fallback });
    expect(two.opened.origin).toBe('copy');
    expect(two.opened.id).not.toBe('shared');
    expect(two.opened.doc.title).toBe('Work (copy)');
    expect(two.opened.copyOf).toEqual({ id: 'shared', title: 'Work' });

    // Each writes its own record.
    await store.saveNotebook(two.opened.id, { ...two.opened.doc, title: 'Tab two' });
    await store.saveNotebook(one.opened.id, { ...one.opened.doc, title: 'Tab one' });
    expect((await store.loadNotebook('shared'))!.title).toBe('Tab one');
    expect((await store.loadNotebook(two.opened.id))!.title).toBe('Tab two');

    // Once the first tab lets go, the second opens the record itself.
    one.opened.release();
    two.opened.release();
    const again = await openStored(store, locksOn(manager), 'shared');
    expect([again.id, again.origin]).toEqual(['shared', 'saved']);
  });

  it('refuses to open a stored notebook that is missing, and gives its lock back', async () => {
    const { store } = await freshStore();
    const manager = fakeLockManager();
    await expect(openStored(store, locksOn(manager), 'nope', {}, 'Gone')).rejects.toThrow(
      /“Gone” could not be read: it is no longer stored/,
    );
    expect(manager.held.size).toBe(0);
  });

  it('without storage, opens the incoming notebook or the fallback in the page only', async () => {
    const locks = locksOn(fakeLockManager());
    const fallback = () => titled('Getting started');
    expect((await chooseStartupNotebook({ store: undefined, locks, fallback })).opened.doc.title).toBe(
      'Getting started',
    );
    const linked = await chooseStartupNotebook({ store: undefined, locks, fallback, incoming: titled('L') });
    expect(linked.opened.doc.title).toBe('L');
  });
});

describe('webLocks', () => {
  it('takes a free lock and gives it back', async () => {
    const manager = fakeLockManager();
    const release = await webLocks(manager, 20).acquire('a');
    expect(release).toBeTypeOf('function');
    expect(manager.held.has(lockName('a'))).toBe(true);
    release!();
    await new Promise((r) => setTimeout(r, 0));
    expect(manager.held.size).toBe(0);
  });

  it('waits out a lock released soon (a reload), but not one another tab keeps', async () => {
    const manager = fakeLockManager();
    const locks = webLocks(manager, 100);
    const first = (await locks.acquire('a'))!;
    setTimeout(first, 20); // the reloaded page's predecessor lets go a moment later
    expect(await locks.acquire('a')).toBeTypeOf('function');
    const started = Date.now();
    expect(await locks.acquire('a')).toBeUndefined(); // still held by the second acquire
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('without the Web Locks API, every acquire succeeds (tabs are not coordinated)', async () => {
    const release = await webLocks(undefined).acquire('a');
    expect(release).toBeTypeOf('function');
  });

  it('a failing lock manager does not block editing', async () => {
    const broken: LockManagerLike = { request: () => Promise.reject(new Error('SecurityError')) };
    expect(await webLocks(broken, 20).acquire('a')).toBeTypeOf('function');
  });
});
