/**
 * The notebooks saved in this browser as the page sees them: the IndexedDB store, autosave of the
 * open notebook, the list of saved notebooks, and the lock that keeps two tabs from editing one
 * notebook (a second tab edits a copy). NotebookState owns the open document; this class owns where
 * it is saved.
 */
import { KNOWN_KINDS } from '../cells/kinds';
import { createAutosave, type Autosave } from '../notebook/autosave';
import type { NotebookDoc } from '../notebook/document';
import {
  chooseStartupNotebook,
  newEntry,
  openStored,
  webLocks,
  type NotebookLocks,
  type OpenedNotebook,
  type StartupChoice,
} from '../notebook/library';
import { openNotebookStore, type NotebookStore, type NotebookSummary } from '../notebook/store';
import { setTabNotebook, tabNotebook } from './tab-session';

/** What autosave writes: the document and the id of the record it belongs to. */
interface SaveEntry {
  id: string;
  doc: NotebookDoc;
}

export type SaveState = 'saved' | 'pending' | 'error' | 'off';

export class NotebookLibrary {
  saveState = $state<SaveState>('off');
  /** The stored notebook this tab edits (its IndexedDB id); undefined without storage. */
  notebookId = $state<string | undefined>(undefined);
  /** Saved notebooks, most recently modified first (refreshed on open, switch and save). */
  recent = $state.raw<readonly NotebookSummary[]>([]);
  store: NotebookStore | undefined;
  private autosave: Autosave<SaveEntry> | undefined;
  private readonly locks: NotebookLocks = webLocks();
  /** Gives back the lock of the notebook this tab has open. */
  private releaseLock: () => void = () => {};

  /** `showError` tells the user about a failure the library could not act on. */
  constructor(private readonly showError: (e: unknown, title: string) => void) {}

  /** Open the store and start autosave; without IndexedDB notebooks are not saved (and the user told). */
  async open(): Promise<void> {
    try {
      const store = await openNotebookStore();
      this.store = store;
      this.autosave = createAutosave((entry: SaveEntry) => store.saveNotebook(entry.id, entry.doc), {
        delayMs: 250,
        onSaved: () => {
          this.saveState = this.autosave?.pending ? 'pending' : 'saved';
          void this.refreshRecent();
        },
        onError: (e) => {
          this.saveState = 'error';
          this.showError(e, 'Autosave failed');
        },
      });
      // 'saved' only once the notebook to show is chosen and stored (take), not before.
    } catch (e) {
      this.saveState = 'off';
      this.showError(e, 'Notebooks will not be saved');
    }
  }

  /** The store for picked files when a report is made live (no autosave: a report is not saved). */
  async openForFiles(): Promise<void> {
    try {
      this.store ??= await openNotebookStore();
    } catch {
      // picked files are kept in memory for this page
    }
  }

  /**
   * The notebook to show at startup: `incoming` as a new one, else the one this tab had open, else
   * the most recently modified, else `fallback()`.
   */
  chooseStartup(incoming: NotebookDoc | undefined, fallback: () => NotebookDoc): Promise<StartupChoice> {
    return chooseStartupNotebook({
      store: this.store,
      locks: this.locks,
      incoming,
      lastId: tabNotebook(),
      fallback,
      validate: { knownKinds: KNOWN_KINDS },
    });
  }

  /** `doc` as a new stored notebook (its lock held). */
  newEntry(doc: NotebookDoc): Promise<OpenedNotebook> {
    return newEntry(this.locks, doc);
  }

  /** Saved notebook `id` (a copy when another tab has it open); throws when it cannot be read. */
  openStored(id: string): Promise<OpenedNotebook> | undefined {
    if (!this.store || id === this.notebookId) return undefined;
    const title = this.recent.find((s) => s.id === id)?.title ?? id;
    return openStored(this.store, this.locks, id, { knownKinds: KNOWN_KINDS }, title);
  }

  /** Re-read the list of saved notebooks. */
  async refreshRecent(): Promise<void> {
    if (!this.store) return;
    try {
      this.recent = await this.store.listNotebooks();
    } catch {
      // the list keeps its last value; the failure itself shows where it matters (saving)
    }
  }

  /** Save `doc` as the open notebook, soon. */
  schedule(doc: NotebookDoc): void {
    if (!this.autosave || !this.notebookId) return;
    this.saveState = 'pending';
    this.autosave.schedule({ id: this.notebookId, doc });
  }

  /**
   * Before this tab leaves its notebook: save what is pending. False (and the user told) when that
   * fails, and then the notebook stays open rather than lose the edits.
   */
  async settle(): Promise<boolean> {
    try {
      await this.autosave?.flush();
      return true;
    } catch (e) {
      this.saveState = 'error';
      this.showError(e, 'The open notebook could not be saved, so it stays open');
      return false;
    }
  }

  /**
   * `opened` becomes this tab's notebook: its lock held and the previous one given back. A new
   * entry is stored at once, so it is in the list even if nothing is ever edited.
   */
  take(opened: OpenedNotebook): void {
    // Anything typed since settle() starts writing before the lock goes: IndexedDB commits it
    // before any transaction another tab opens after taking the lock.
    this.autosave?.flushNow().catch(() => undefined);
    this.releaseLock();
    this.releaseLock = opened.release;
    this.notebookId = this.store ? opened.id : undefined;
    setTabNotebook(opened.id);
  }

  /** After `take` and the document is shown: store a new entry now, or report the save state. */
  async settleTaken(opened: OpenedNotebook): Promise<void> {
    if (opened.origin === 'new' && this.autosave) {
      this.schedule(opened.doc);
      try {
        await this.autosave.flush();
      } catch (e) {
        this.saveState = 'error';
        this.showError(e, 'The notebook could not be saved');
      }
    } else if (this.autosave) {
      this.saveState = this.autosave.pending ? 'pending' : 'saved';
    }
    await this.refreshRecent();
  }

  /**
   * Delete saved notebook `id` (not the open one). False when another tab has it open (nothing
   * deleted).
   */
  async delete(id: string): Promise<boolean> {
    const store = this.store;
    if (!store || id === this.notebookId) return true;
    const release = await this.locks.acquire(id);
    if (!release) return false;
    try {
      await store.deleteNotebook(id);
    } catch (e) {
      this.showError(e, 'The notebook could not be deleted');
    } finally {
      release();
    }
    await this.refreshRecent();
    return true;
  }

  /** Write the pending autosave and resolve once it is stored. */
  async flush(): Promise<void> {
    await this.autosave?.flush();
  }

  /** Start the pending write in this very task (the page is being hidden or closed). */
  flushNow(): void {
    this.autosave?.flushNow().catch((e: unknown) => {
      // Seen only when the page stays (visibilitychange): then the user can still act on it.
      this.saveState = 'error';
      this.showError(e, 'Autosave failed');
    });
  }
}
