/**
 * The notebook page's state: the document (with undo/redo), each cell's runtime state (mirrored
 * from the Scheduler), the worker backend, autosave to IndexedDB, open/save files and share links.
 * A runes class outside the components; edits go through pure reducers in app/notebook/edit.ts.
 */
import { createRuntimeClient, type RuntimeClient } from '../../workers/runtime-client';
import type { BackendInfo, BackendKind } from '../../workers/runtime-types';
import type { CellServices } from '../cells/cell-kind';
import { KNOWN_KINDS, kindOf } from '../cells/kinds';
import { createAutosave, type Autosave } from '../notebook/autosave';
import { IDLE, type CellRuntime } from '../notebook/cell-runtime';
import { type NotebookDoc, type ParamValue } from '../notebook/document';
import * as edits from '../notebook/edit';
import { History } from '../notebook/history';
import { hashBytes } from '../notebook/hash';
import { parseNotebookFile, serializeNotebook, notebookFileName } from '../notebook/notebook-file';
import { decodeResult, encodeResult } from '../notebook/result-codec';
import { Scheduler } from '../notebook/scheduler';
import { decodeShareHash, encodeShareHash, hasShareHash } from '../notebook/share-link';
import { openNotebookStore, type NotebookStore } from '../notebook/store';
import { defaultNotebook } from './default-notebook';
import { describeError, type ErrorView } from './errors';
import { fetchBytes } from './fetch-bytes';

/** The IndexedDB record the open notebook autosaves to. */
const CURRENT = 'current';

/** A page-level message: an error that refused an action, or information. */
export interface Notice {
  kind: 'error' | 'info';
  title: string;
  message: string;
}

export class NotebookState {
  /** The notebook's document history; the open document is always its present. */
  history = $state.raw<History<NotebookDoc>>(History.start(defaultNotebook()));
  readonly doc: NotebookDoc = $derived(this.history.present);
  runtimes = $state.raw<Record<string, CellRuntime>>({});
  backendKind = $state<BackendKind>('cpu');
  backend = $state<BackendInfo | undefined>(undefined);
  backendError = $state<ErrorView | undefined>(undefined);
  notice = $state<Notice | undefined>(undefined);
  /** The last link made by Copy link (shown so it can be copied by hand too). */
  shareLink = $state<string | undefined>(undefined);
  saveState = $state<'saved' | 'pending' | 'error' | 'off'>('off');
  /** Cell that has keyboard focus in the list (arrow keys move it). */
  focused = $state<string | undefined>(undefined);

  readonly webgpuAvailable = typeof navigator !== 'undefined' && !!navigator.gpu;
  readonly anyRunning = $derived(
    Object.values(this.runtimes).some((r) => r.status === 'running' || r.status === 'queued'),
  );

  readonly client: RuntimeClient;
  private store: NotebookStore | undefined;
  private readonly scheduler: Scheduler;
  private autosave: Autosave<NotebookDoc> | undefined;

  constructor(client: RuntimeClient = createRuntimeClient()) {
    this.client = client;
    this.backendKind = this.webgpuAvailable ? 'webgpu' : 'cpu';
    const services: CellServices = {
      runtime: client,
      backend: () => this.backend,
      getBlob: async (hash) => (await this.store?.getBlob(hash))?.bytes,
      fetchBytes: (url, { signal, onProgress }) => fetchBytes(url, { signal, onProgress }),
    };
    this.scheduler = new Scheduler({
      kindOf,
      services,
      env: () => ({ backend: this.backendKind }),
      onChange: (id, rt) => {
        const next = { ...this.runtimes };
        if (rt) next[id] = rt;
        else delete next[id];
        this.runtimes = next;
      },
      cache: {
        load: async (cellId, key) => {
          const hit = await this.store?.loadResult(cellId, key);
          return hit ? decodeResult(hit.bytes) : undefined;
        },
        save: async (cellId, key, result) => {
          await this.store?.saveResult(cellId, key, encodeResult(result));
        },
      },
    });
  }

  runtime(id: string): CellRuntime {
    return this.runtimes[id] ?? IDLE;
  }

  /**
   * Open storage, pick the notebook to show (a shared link, else the autosave, else the default),
   * start the backend, restore cached results and reload models.
   */
  async start(location: { hash: string; search: string }): Promise<void> {
    try {
      const store = await openNotebookStore();
      this.store = store;
      this.autosave = createAutosave((doc: NotebookDoc) => store.saveNotebook(CURRENT, doc), {
        delayMs: 250,
        onSaved: () => (this.saveState = this.autosave?.pending ? 'pending' : 'saved'),
        onError: (e) => {
          this.saveState = 'error';
          this.showError(e, 'Autosave failed');
        },
      });
      this.saveState = 'saved';
    } catch (e) {
      this.saveState = 'off';
      this.showError(e, 'Notebooks will not be saved');
    }
    let doc: NotebookDoc | undefined;
    try {
      doc = await this.store?.loadNotebook(CURRENT, { knownKinds: KNOWN_KINDS });
    } catch (e) {
      this.showError(e, 'The autosaved notebook could not be read');
    }
    if (hasShareHash(location.hash)) {
      try {
        doc = decodeShareHash(location.hash, { knownKinds: KNOWN_KINDS });
        this.notice = {
          kind: 'info',
          title: 'Opened from a link',
          message: `“${doc.title}” (${doc.cells.length} cells)`,
        };
      } catch (e) {
        this.showError(e, 'This link could not be opened');
      }
      history.replaceState(null, '', location.search || window.location.pathname);
    }
    this.replaceDocument(doc ?? defaultNotebook(location.search), false);
    await this.setBackend(this.backendKind);
    await this.scheduler.restore();
    // Models that need no user action (bundled, URLs) load at once: the workbench opens ready.
    for (const cell of this.doc.cells) {
      const kind = kindOf(cell.kind);
      if (kind?.needsLive && this.runtime(cell.id).status === 'idle' && !kind.waitingFor?.(cell))
        this.scheduler.run(cell.id);
    }
  }

  /** (Re)create the worker backend; every result computed on the other backend becomes stale. */
  async setBackend(kind: BackendKind): Promise<void> {
    this.scheduler.cancelAll();
    this.backendKind = kind;
    this.backend = undefined;
    this.backendError = undefined;
    try {
      this.backend = await this.client.init(kind);
    } catch (e) {
      this.backendError = describeError(e);
      return;
    }
    // Keys include the backend: re-key, and reload the models (dependents re-run on demand).
    this.scheduler.setDocument(this.doc);
    const models = this.doc.cells.filter((c) => kindOf(c.kind)?.needsLive).map((c) => c.id);
    for (const id of models) if (this.runtime(id).status !== 'idle') this.scheduler.run(id);
  }

  // ── edits (all undoable) ────────────────────────────────────────────────

  /** Apply a pure edit; `edited` cells (and their dependents) re-run. */
  edit(next: NotebookDoc, label: string, edited: readonly string[] = [], coalesceKey?: string): void {
    if (next === this.doc) return;
    this.history = this.history.push(next, { label, coalesceKey });
    this.scheduler.setDocument(next, edited);
    this.scheduleSave();
  }

  setParams(id: string, patch: Record<string, ParamValue>, coalesceKey?: string): void {
    this.guard(() => this.edit(edits.setParams(this.doc, id, patch), 'edit cell', [id], coalesceKey));
  }

  setInput(id: string, role: string, source: string | undefined): void {
    this.guard(() => this.edit(edits.setInput(this.doc, id, role, source), 'change input', [id]));
  }

  addCell(kind: string, afterId?: string): string | undefined {
    const spec = kindOf(kind);
    if (!spec) return undefined;
    const { doc, id } = edits.addCell(
      this.doc,
      { kind, params: spec.defaults(), inputs: spec.inputs },
      afterId,
    );
    this.edit(doc, `add ${spec.title.toLowerCase()} cell`);
    this.focused = id;
    return id;
  }

  removeCell(id: string): void {
    const downstream = this.doc.cells.filter((c) => Object.values(c.inputs).includes(id)).map((c) => c.id);
    this.edit(edits.removeCell(this.doc, id), 'delete cell', downstream);
    void this.client.unload(id).catch(() => undefined);
  }

  moveCell(id: string, delta: -1 | 1): void {
    this.guard(() => this.edit(edits.moveCell(this.doc, id, delta), 'move cell'));
  }

  setTitle(title: string): void {
    this.edit(edits.setTitle(this.doc, title), 'rename', [], 'title');
  }

  undo(): void {
    if (this.history.canUndo) this.adoptFromHistory(this.history.undo());
  }

  redo(): void {
    if (this.history.canRedo) this.adoptFromHistory(this.history.redo());
  }

  // ── running ─────────────────────────────────────────────────────────────

  run(id: string): void {
    this.scheduler.run(id);
  }

  runAll(): void {
    this.scheduler.runAll();
  }

  cancel(id: string): void {
    this.scheduler.cancel(id);
  }

  cancelAll(): void {
    this.scheduler.cancelAll();
  }

  pause(id: string): void {
    this.scheduler.pause(id);
  }

  resume(id: string): void {
    this.scheduler.resume(id);
  }

  // ── files, links ────────────────────────────────────────────────────────

  /** Store picked model files by content hash and point the model cell at them. */
  async pickModelFiles(id: string, files: readonly File[]): Promise<void> {
    await this.pickFiles(id, files, { source: 'files' });
  }

  /**
   * Store picked files by content hash (so a reload finds them) and set the cell's `files` param
   * to their names and hashes, with `patch` (e.g. the cell's source) in the same edit.
   */
  async pickFiles(id: string, files: readonly File[], patch: Record<string, ParamValue> = {}): Promise<void> {
    try {
      const picked = [];
      for (const f of files) {
        const bytes = new Uint8Array(await f.arrayBuffer());
        const hash = await hashBytes(bytes);
        await this.store?.putBlob(hash, f.name, bytes);
        picked.push({ name: f.name, hash, size: f.size });
      }
      this.setParams(id, { ...patch, files: picked });
    } catch (e) {
      this.showError(e, 'The files could not be stored');
    }
  }

  /** Open a `.sparsebook.json`; a bad file leaves the current notebook untouched. */
  async openFile(file: File): Promise<void> {
    try {
      const doc = parseNotebookFile(await file.text(), file.name, { knownKinds: KNOWN_KINDS });
      this.replaceDocument(doc, true);
      this.notice = { kind: 'info', title: 'Opened', message: `${file.name}: ${doc.cells.length} cells` };
      await this.scheduler.restore();
    } catch (e) {
      this.showError(e, 'The notebook file could not be opened');
    }
  }

  /** The notebook as a `.sparsebook.json` download. */
  saveFile(): { name: string; text: string } {
    return { name: notebookFileName(this.doc.title), text: serializeNotebook(this.doc) };
  }

  /** A URL that opens this notebook (compressed into the hash). */
  makeShareLink(base: string): string {
    this.shareLink = base.split('#')[0] + encodeShareHash(this.doc);
    return this.shareLink;
  }

  dismissNotice(): void {
    this.notice = undefined;
  }

  /** Write the pending autosave now (page hide). */
  async flush(): Promise<void> {
    await this.autosave?.flush();
  }

  // ── internals ───────────────────────────────────────────────────────────

  private replaceDocument(doc: NotebookDoc, undoable: boolean): void {
    this.history = undoable ? this.history.push(doc, { label: 'open notebook' }) : History.start(doc);
    this.scheduler.setDocument(doc);
    this.scheduleSave();
  }

  /** Undo/redo: move to `history`'s present and re-run the cells whose definition changed. */
  private adoptFromHistory(history: History<NotebookDoc>): void {
    const before = this.doc.cells;
    this.history = history;
    const next = this.doc;
    const changed = next.cells.filter((c) => !before.includes(c)).map((c) => c.id);
    this.scheduler.setDocument(next, changed);
    this.scheduleSave();
  }

  private scheduleSave(): void {
    if (!this.autosave) return;
    this.saveState = 'pending';
    this.autosave.schedule(this.doc);
  }

  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.showError(e, 'That edit is not possible');
    }
  }

  private showError(e: unknown, title: string): void {
    const view = describeError(e);
    this.notice = { kind: 'error', title, message: view.message };
  }
}
