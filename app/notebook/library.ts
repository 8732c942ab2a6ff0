/**
 * The user's notebooks as a library: every notebook is stored under its own id (store.ts) and the
 * recent list is the store's index (title, modified time). What opens where follows one rule:
 * nothing the user made is overwritten by something they did not open.
 *
 * - A link (`#nb=`), a demo (`?demo=`), `?model=` or an opened file becomes a NEW notebook with a
 *   new id; the notebook that was open stays in the list as it was.
 * - A plain visit opens the notebook this tab had open (after a reload) or else the most recently
 *   modified one. If that one cannot be read (damaged, or written by a newer Sparsebook), its record
 *   is left exactly as it is, the user is told, and a new notebook is used instead.
 * - Two tabs never write the same record. Each tab holds a Web Lock named after the notebook it
 *   edits, for as long as it has it open; a tab that finds the lock taken opens a copy under a new
 *   id (saved only once edited). Locks rather than BroadcastChannel updates: the browser grants a
 *   lock to one tab at a time and frees it when that tab closes or crashes, so there is no stale
 *   "open" flag to clean up and no merge of two edit histories (each tab has its own undo stack,
 *   which a broadcast of the other tab's documents would break). A read-only view was the other
 *   choice; a copy lets the second tab go on working, and the original is never touched. (The
 *   cost: Chromium keeps no page that holds a lock in its back/forward cache.)
 */
import type { NotebookDoc } from './document';
import type { ValidateOptions } from './schema';
import type { NotebookStore, NotebookSummary } from './store';
import { describeError } from '../state/errors';

/** Exclusive ownership of a notebook id among this origin's tabs. */
export interface NotebookLocks {
  /**
   * Take notebook `id` for this tab. Resolves with the function that gives it back, or undefined
   * when another tab holds it.
   */
  acquire(id: string): Promise<(() => void) | undefined>;
}

/** The Web Locks API as far as it is used here (navigator.locks). */
export interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown>;
}

/** The lock name for notebook `id`. */
export function lockName(id: string): string {
  return `sparsebook-notebook:${id}`;
}

/**
 * Locks through the Web Locks API. A taken lock is waited for up to `waitMs` before it counts as
 * held by another tab: on a reload the old page's lock is released a moment after the new page has
 * started, and that must not turn the reloaded notebook into a copy. Without Web Locks (a very old
 * browser, an insecure context) every acquire succeeds: tabs are then not coordinated.
 *
 * @example
 * const release = await webLocks().acquire(id);
 * if (!release) openACopy(); else { edit(id); release(); }
 */
export function webLocks(
  manager: LockManagerLike | undefined = (globalThis.navigator as { locks?: LockManagerLike } | undefined)
    ?.locks,
  waitMs = 1500,
): NotebookLocks {
  return {
    acquire(id) {
      if (!manager) return Promise.resolve(() => {});
      return new Promise((resolve) => {
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), waitMs);
        manager
          .request(lockName(id), { signal: controller.signal }, () => {
            clearTimeout(timer);
            resolve(release);
            return held;
          })
          .catch(() => {
            clearTimeout(timer);
            // Aborted while waiting: another tab has it. Any other failure: do not block editing.
            resolve(controller.signal.aborted ? undefined : () => {});
          });
      });
    },
  };
}

/** A fresh notebook id (random, so two tabs creating notebooks at once never collide). */
export function newNotebookId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `nb-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** A notebook this tab has open. */
export interface OpenedNotebook {
  /** The id its autosave writes to. */
  id: string;
  doc: NotebookDoc;
  /** Gives the notebook's lock back (when this tab opens another one). */
  release: () => void;
  /**
   * `saved`: a stored notebook, this tab owns it. `new`: a new entry (save it now, so it is in the
   * list). `copy`: a stored notebook another tab is editing; saved under its own id once edited.
   */
  origin: 'saved' | 'new' | 'copy';
  /** For a copy: the notebook it copies. */
  copyOf?: { id: string; title: string };
}

/** A stored notebook that could not be opened; its record is untouched. */
export class UnreadableNotebook extends Error {
  override readonly name = 'UnreadableNotebook';
  constructor(
    readonly summary: NotebookSummary | { id: string; title: string },
    readonly reason: unknown,
  ) {
    super(`“${summary.title}” could not be read: ${describeError(reason).message}`, { cause: reason });
  }
}

/** What startup chose, with what the user must be told about it. */
export interface StartupChoice {
  opened: OpenedNotebook;
  /** The notebook that would have opened but cannot be read (kept as it is). */
  unreadable?: UnreadableNotebook;
  /** Listing the saved notebooks failed (storage trouble): a new notebook is used. */
  listError?: unknown;
}

/** A new notebook entry holding `doc`. */
export async function newEntry(locks: NotebookLocks, doc: NotebookDoc): Promise<OpenedNotebook> {
  const id = newNotebookId();
  const release = (await locks.acquire(id)) ?? (() => {});
  return { id, doc, release, origin: 'new' };
}

/**
 * Open stored notebook `id` for this tab: its own record when no other tab has it, else a copy.
 * Throws UnreadableNotebook (record untouched) when it is missing, damaged or from a newer build.
 */
export async function openStored(
  store: NotebookStore,
  locks: NotebookLocks,
  id: string,
  validate: ValidateOptions = {},
  title = id,
): Promise<OpenedNotebook> {
  const release = await locks.acquire(id);
  let doc: NotebookDoc | undefined;
  try {
    doc = await store.loadNotebook(id, validate);
  } catch (e) {
    release?.();
    throw new UnreadableNotebook({ id, title }, e);
  }
  if (!doc) {
    release?.();
    throw new UnreadableNotebook({ id, title }, new Error('it is no longer stored'));
  }
  if (release) return { id, doc, release, origin: 'saved' };
  const copy = await newEntry(locks, { ...doc, title: `${doc.title} (copy)` });
  return { ...copy, origin: 'copy', copyOf: { id, title: doc.title } };
}

/** Options for {@link chooseStartupNotebook}. */
export interface StartupOptions {
  /** Undefined when storage could not be opened: the notebook then lives in this page only. */
  store: NotebookStore | undefined;
  locks: NotebookLocks;
  /** A notebook the page was opened with (link, demo, `?model=`): always a new entry. */
  incoming?: NotebookDoc;
  /** The notebook this tab had open before a reload (sessionStorage), if any. */
  lastId?: string | null;
  /** The notebook for a first visit (or when the stored one cannot be read). */
  fallback: () => NotebookDoc;
  validate?: ValidateOptions;
}

/**
 * Choose the notebook a page opens with. Never writes: the caller saves `new` entries itself.
 *
 * @example
 * const { opened, unreadable } = await chooseStartupNotebook({ store, locks: webLocks(), lastId,
 *   incoming: linkDoc, fallback: defaultNotebook });
 */
export async function chooseStartupNotebook(options: StartupOptions): Promise<StartupChoice> {
  const { store, locks, incoming, fallback } = options;
  if (incoming) return { opened: await newEntry(locks, incoming) };
  if (!store) return { opened: await newEntry(locks, fallback()) };
  let list: NotebookSummary[];
  try {
    list = await store.listNotebooks();
  } catch (e) {
    return { opened: await newEntry(locks, fallback()), listError: e };
  }
  const candidate = list.find((s) => s.id === options.lastId) ?? list[0];
  if (!candidate) return { opened: await newEntry(locks, fallback()) };
  try {
    return { opened: await openStored(store, locks, candidate.id, options.validate, candidate.title) };
  } catch (e) {
    if (!(e instanceof UnreadableNotebook)) throw e;
    return { opened: await newEntry(locks, fallback()), unreadable: e };
  }
}
