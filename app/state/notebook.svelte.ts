/**
 * The notebook page's state: the document (with undo/redo), each cell's runtime state (mirrored
 * from the Scheduler), the worker backend, autosave to IndexedDB, open/save files and share links.
 * A runes class outside the components; edits go through pure reducers in app/notebook/edit.ts.
 */
import { createRuntimeClient, type RuntimeClient } from '../../workers/runtime-client';
import type { BackendInfo, BackendKind } from '../../workers/runtime-types';
import type { CellServices } from '../cells/cell-kind';
import { KNOWN_KINDS, kindOf } from '../cells/kinds';
import { selectedDocumentOf, type SelectedDocument } from '../cells/text/text-kind';
import { IDLE, type CellRuntime, type Json } from '../notebook/cell-runtime';
import { type CellDoc, type NotebookDoc, type ParamValue } from '../notebook/document';
import * as edits from '../notebook/edit';
import { History } from '../notebook/history';
import type { OpenedNotebook } from '../notebook/library';
import { parseNotebookFile } from '../notebook/notebook-file';
import { Scheduler } from '../notebook/scheduler';
import type { TokenSelection } from '../notebook/selection';
import { decodeShareHash } from '../notebook/share-link';
import { storeResultCache } from '../notebook/result-cache';
import { embedOptions, type EmbedOptions } from '../report/page-options';
import { decodeReport, type ReportCell, type ReportData } from '../report/report-data';
import type { CellContext } from './cell-context';
import { reportResult, withRuntime } from './cell-runtimes';
import { defaultNotebook } from './default-notebook';
import { describeError, type ErrorView } from './errors';
import { fetchBytes } from './fetch-bytes';
import { readHubSettings } from './hub-settings';
import { embedCodeFor, exportReport, notebookFile, shareLinkFor, type ReportFile } from './exports';
import { KeptAnswers } from './kept-answers';
import { copyNotice, errorNotice, type Notice } from './notices';
import { readOpening } from './opening';
import { isParamLocked, lockedKeys, type NotebookMode } from './param-lock';
import { NotebookLibrary } from './library.svelte';
import { PickedFiles } from './picked-files';

/** What this page is: the workbench, an embed (`embed.html`), or a report carrying its data. */
export type PageKind = { kind: 'app' } | { kind: 'embed' } | { kind: 'report'; packed: Uint8Array };

export type { Notice };

export class NotebookState implements CellContext {
  /** The notebook's document history; the open document is always its present. */
  history = $state.raw<History<NotebookDoc>>(History.start(defaultNotebook()));
  readonly doc: NotebookDoc = $derived(this.history.present);
  readonly selection: TokenSelection | undefined = $derived(this.history.present.selection);
  readonly selectedDocument: SelectedDocument | undefined = $derived(
    selectedDocumentOf(this.history.present),
  );
  /**
   * By cell id (a Map: ids such as `constructor` or `__proto__` are ordinary ids). Never mutated:
   * each change replaces it (withRuntime), which is what $state.raw tracks.
   */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- immutable snapshot, replaced whole
  runtimes = $state.raw<ReadonlyMap<string, CellRuntime>>(new Map());
  backendKind = $state<BackendKind>('cpu');
  backend = $state<BackendInfo | undefined>(undefined);
  backendError = $state<ErrorView | undefined>(undefined);
  notice = $state<Notice | undefined>(undefined);
  /** The last link made by Copy link (shown so it can be copied by hand too). */
  shareLink = $state<string | undefined>(undefined);
  /** Where notebooks are saved: the store, autosave, the saved list and this tab's lock. */
  readonly library = new NotebookLibrary((e, title) => this.showError(e, title));
  /**
   * Remote images in markdown load only once the user allows them, for the notebook open in this
   * tab (a tracking pixel in a shared notebook must not report who opened it). Opening another
   * notebook blocks them again.
   */
  remoteImages = $state(false);
  /** Cell that has keyboard focus in the list (arrow keys move it). */
  focused = $state<string | undefined>(undefined);
  /**
   * `live`: the workbench. `report`: an exported report opened without a model: results come from
   * the report, nothing runs, and only view params (which never re-run a cell) can change, until
   * the user presses Make live.
   */
  mode = $state<NotebookMode>('live');
  /** The report this page is (its provenance and results), when it is one. */
  report = $state.raw<ReportData | undefined>(undefined);
  /** Show only one cell (an embed: `#cell=…`). */
  embed = $state.raw<EmbedOptions | undefined>(undefined);
  /** This page's own shell when it is a report (so a report made live can export again). */
  reportShell: string | undefined;

  readonly webgpuAvailable = typeof navigator !== 'undefined' && !!navigator.gpu;
  readonly anyRunning = $derived(
    [...this.runtimes.values()].some((r) => r.status === 'running' || r.status === 'queued'),
  );

  readonly client: RuntimeClient;
  private readonly scheduler: Scheduler;
  /** Results that came with a report, by cell id: the result cache serves them first. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- not reactive; replaced whole by a report
  private reportCells: ReadonlyMap<string, ReportCell> = new Map();
  /** The cells' answers to the selection (see CellContext.keepAnswer); a report's come with it. */
  private readonly answers = new KeptAnswers();
  /** Files picked in this page (the model cell's run reads them). */
  private readonly picked = new PickedFiles(() => this.library.store);

  constructor(client: RuntimeClient = createRuntimeClient()) {
    this.client = client;
    this.backendKind = this.webgpuAvailable ? 'webgpu' : 'cpu';
    const services: CellServices = {
      runtime: client,
      backend: () => this.backend,
      getBlob: (hash) => this.picked.get(hash),
      fetchBytes: (url, { signal, onProgress }) => fetchBytes(url, { signal, onProgress }),
      hub: () => readHubSettings(),
    };
    this.scheduler = new Scheduler({
      kindOf,
      services,
      env: () => ({ backend: this.backendKind }),
      canRun: () => this.mode === 'live',
      onChange: (id, rt) => {
        this.runtimes = withRuntime(this.runtimes, id, rt);
      },
      cache: this.resultCache(),
    });
  }

  keepAnswer(cellId: string, key: string, value: object): void {
    if (this.mode !== 'live') return;
    this.answers.keep(cellId, this.runtime(cellId).resultKey, {
      key,
      value: JSON.parse(JSON.stringify(value)) as Json,
    });
  }

  keptAnswer(cellId: string, key: string): Json | undefined {
    return this.answers.get(cellId, key);
  }

  runtime(id: string): CellRuntime {
    return this.runtimes.get(id) ?? IDLE;
  }

  inputCell(cell: CellDoc, role: string): CellDoc | undefined {
    const id = cell.inputs[role];
    return id === undefined ? undefined : this.doc.cells.find((c) => c.id === id);
  }

  /**
   * Results across reloads: a report's own results first, then IndexedDB. A result that cannot be
   * stored (storage full) still shows in its cell, and the user is told it will not survive a reload.
   */
  private resultCache() {
    const stored = storeResultCache(
      () => this.library.store,
      (e) => this.showError(e, 'A result could not be saved'),
    );
    return {
      load: async (cellId: string, key: string) =>
        // A report's result stands for its cell while the report is read-only, whatever the key.
        reportResult(this.reportCells, cellId, key, this.mode === 'report') ?? stored.load(cellId, key),
      save: stored.save,
    };
  }

  /**
   * True when param `name` of `cell` cannot be changed now: in a report every param that would
   * re-run the cell is shown read-only, with the value used; view params stay interactive.
   */
  paramLocked(cell: CellDoc, name: string): boolean {
    return isParamLocked(this.mode, kindOf(cell.kind), name);
  }

  /**
   * Open storage, pick the notebook to show (a shared link, demo or `?model=` as a new notebook;
   * else the one this tab had open, else the most recently modified, else the default), start the
   * backend, restore cached results and reload models.
   */
  async start(location: { hash: string; search: string }, page: PageKind = { kind: 'app' }): Promise<void> {
    this.embed = embedOptions(location.hash);
    if (page.kind === 'report') return this.startReport(page.packed);
    if (page.kind === 'embed') return this.startEmbed(location.hash);
    await this.library.open();
    // Whatever the page was opened with becomes a new notebook; nothing stored is replaced.
    const opening = await readOpening(location);
    for (const n of opening.notices) this.notice = n;
    const incoming = opening.incoming;
    if (opening.cpu) this.backendKind = 'cpu';
    const choice = await this.library.chooseStartup(incoming, () => defaultNotebook(location.search));
    if (choice.listError) this.showError(choice.listError, 'The saved notebooks could not be listed');
    if (choice.unreadable)
      this.notice = {
        kind: 'error',
        title: 'Your saved notebook could not be opened',
        message: `${choice.unreadable.message}. It is kept unchanged under Notebooks; this is a new notebook.`,
      };
    const copyOf = choice.opened.copyOf;
    if (copyOf) this.notice = copyNotice(copyOf.title);
    await this.adopt(choice.opened);
    await this.setBackend(this.backendKind);
    await this.scheduler.restore();
    // Models that need no user action (bundled, URLs) load at once: the workbench opens ready.
    for (const cell of this.doc.cells) {
      const kind = kindOf(cell.kind);
      if (kind?.needsLive && this.runtime(cell.id).status === 'idle' && !kind.waitingFor?.(cell))
        this.scheduler.run(cell.id);
    }
  }

  /**
   * Open the report this page carries: its notebook and results, read-only, nothing run and no
   * worker started until Make live. Autosave stays off: a report never replaces the user's notebook.
   */
  private async startReport(packed: Uint8Array): Promise<void> {
    let data: ReportData;
    try {
      // decodeReport checks the whole report (provenance included) or throws NotebookError.
      data = decodeReport(packed, { knownKinds: KNOWN_KINDS });
    } catch (e) {
      this.showError(e, 'This report could not be opened');
      return;
    }
    this.mode = 'report';
    this.report = data;
    this.reportCells = data.cells;
    this.answers.replace(data.answers, data.cells);
    this.backendKind = data.provenance.backend.kind === 'webgpu' ? 'webgpu' : 'cpu';
    this.replaceDocument(data.doc);
    await this.scheduler.restore();
  }

  /**
   * `embed.html#nb=…&cell=…`: the shared notebook, run live, one cell shown. It keeps no autosave,
   * so an embed in someone's page never touches the notebook they work on here.
   */
  private async startEmbed(hash: string): Promise<void> {
    try {
      this.replaceDocument(decodeShareHash(hash, { knownKinds: KNOWN_KINDS }));
    } catch (e) {
      this.showError(e, 'This embedded notebook could not be opened');
      return;
    }
    await this.setBackend(this.backendKind);
    if (this.embed) this.scheduler.run(this.embed.cell);
  }

  /**
   * Turn a report back into a notebook: start the worker and re-run every cell. Opened from a file,
   * the page cannot fetch the bundled model, so model cells ask for the files instead.
   */
  async makeLive(): Promise<void> {
    if (this.mode !== 'report') return;
    this.mode = 'live';
    await this.library.openForFiles();
    if (globalThis.location?.protocol === 'file:') {
      let doc = this.doc;
      for (const c of doc.cells) {
        const patch = kindOf(c.kind)?.offline?.(c);
        if (patch) doc = edits.setParams(doc, c.id, patch);
      }
      this.history = this.history.push(doc, { label: 'make live' });
    }
    this.notice = {
      kind: 'info',
      title: 'Live',
      message: this.doc.cells.some((c) => kindOf(c.kind)?.waitingFor?.(c))
        ? 'Some cells wait for you (pick the model files in the model cell); every cell then runs again.'
        : 'Every cell runs again.',
    };
    await this.setBackend(this.backendKind);
    this.scheduler.runAll();
  }

  /**
   * The notebook and every current result as one self-contained HTML file. Cells without a
   * current result (never run, stale, failed) go in without one, and are named in `missing`.
   */
  exportReport(shell?: string): Promise<ReportFile> {
    const backend = this.backend ??
      this.report?.provenance.backend ?? { kind: this.backendKind, description: '' };
    return exportReport(this.doc, (id) => this.runtime(id), backend, shell ?? this.reportShell, this.answers);
  }

  /** Code to embed cell `id` in another page (see app/report/embed-code.ts). */
  embedCode(id: string): string {
    return embedCodeFor(this.doc, id, this.mode);
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
    const cell = this.doc.cells.find((c) => c.id === id);
    const locked = cell ? lockedKeys(this.mode, kindOf(cell.kind), patch) : [];
    if (locked.length > 0) {
      // A report's compute params are read-only (the views disable them; this catches the rest).
      this.notice = {
        kind: 'info',
        title: 'This report is read-only',
        message: `Press Make live to change ${locked.join(', ')}`,
      };
      return;
    }
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

  select(selection: TokenSelection | undefined): void {
    // No cell re-runs: views read the selection, runs never do.
    this.guard(() => this.edit(edits.setSelection(this.doc, selection), 'select token', [], 'selection'));
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
      this.setParams(id, { ...patch, files: await this.picked.keep(files) });
    } catch (e) {
      this.showError(e, 'The files could not be stored');
    }
  }

  /**
   * Open a `.sparsebook.json` as a new notebook (the open one stays under Notebooks); a bad file
   * leaves the current notebook untouched.
   */
  async openFile(file: File): Promise<void> {
    let doc: NotebookDoc;
    try {
      doc = parseNotebookFile(await file.text(), file.name, { knownKinds: KNOWN_KINDS });
    } catch (e) {
      this.showError(e, 'The notebook file could not be opened');
      return;
    }
    if (!(await this.library.settle())) return;
    await this.adopt(await this.library.newEntry(doc));
    this.notice = { kind: 'info', title: 'Opened', message: `${file.name}: ${doc.cells.length} cells` };
    await this.scheduler.restore();
  }

  // ── the notebook library ────────────────────────────────────────────────

  /** Saved notebooks, most recently modified first. */
  get recent() {
    return this.library.recent;
  }

  /** The stored notebook this tab edits (its IndexedDB id); undefined without storage. */
  get notebookId() {
    return this.library.notebookId;
  }

  get saveState() {
    return this.library.saveState;
  }

  /** Re-read the list of saved notebooks. */
  refreshRecent(): Promise<void> {
    return this.library.refreshRecent();
  }

  /**
   * Open saved notebook `id` in this tab (the open one is saved first and stays in the list). A
   * notebook another tab is editing opens as a copy; one that cannot be read is left as it is.
   */
  async openSaved(id: string): Promise<void> {
    if (!this.library.store || id === this.library.notebookId) return;
    if (!(await this.library.settle())) return;
    let opened: OpenedNotebook | undefined;
    try {
      opened = await this.library.openStored(id);
    } catch (e) {
      this.showError(e, 'That notebook could not be opened');
      return;
    }
    if (!opened) return;
    await this.adopt(opened);
    this.notice = opened.copyOf ? copyNotice(opened.copyOf.title) : undefined;
    await this.scheduler.restore();
  }

  /** Start a new notebook (the default one); the open one stays in the list. */
  async newNotebook(): Promise<void> {
    if (!(await this.library.settle())) return;
    await this.adopt(await this.library.newEntry(defaultNotebook()));
    await this.scheduler.restore();
  }

  /** Delete saved notebook `id` (not the open one, nor one another tab has open). */
  async deleteSaved(id: string): Promise<void> {
    if (!(await this.library.delete(id)))
      this.notice = { kind: 'info', title: 'Not deleted', message: 'That notebook is open in another tab.' };
  }

  /** Allow remote images in this notebook's markdown (until another notebook is opened). */
  allowRemoteImages(): void {
    this.remoteImages = true;
  }

  /** The notebook as a `.sparsebook.json` download. */
  saveFile(): { name: string; text: string } {
    return notebookFile(this.doc);
  }

  /** A URL that opens this notebook (compressed into the hash). */
  makeShareLink(base: string): string {
    this.shareLink = shareLinkFor(this.doc, base);
    return this.shareLink;
  }

  dismissNotice(): void {
    this.notice = undefined;
  }

  /** Write the pending autosave and resolve once it is stored. */
  flush(): Promise<void> {
    return this.library.flush();
  }

  /**
   * The page is being hidden or closed (`pagehide`, `visibilitychange` to hidden): start the
   * pending write in this very task. The IndexedDB transaction is created and committed before this
   * returns, which is all a page can do; whether it completes after the page is gone is up to the
   * browser (in Chromium and Firefox a committed transaction does), and nothing can be awaited.
   */
  flushNow(): void {
    this.library.flushNow();
  }

  // ── internals ───────────────────────────────────────────────────────────

  /** Show a document that is not one of the user's notebooks (a report, an embed): never saved. */
  private replaceDocument(doc: NotebookDoc): void {
    this.unloadLeaving(doc);
    this.history = History.start(doc);
    this.scheduler.setDocument(doc);
  }

  /**
   * Make `opened` this tab's notebook: a new history (the previous notebook is saved under its own
   * id, so there is nothing to undo back to), its lock held and the previous one given back.
   */
  private async adopt(opened: OpenedNotebook): Promise<void> {
    this.library.take(opened);
    this.remoteImages = false;
    this.unloadLeaving(opened.doc);
    this.history = History.start(opened.doc);
    this.scheduler.setDocument(opened.doc);
    await this.library.settleTaken(opened);
  }

  /**
   * Before `next` replaces the open document: free the worker's models of the cells it does not
   * have (models are keyed by cell id), as deleting those cells would. Without it every notebook
   * left kept its model's weights on the GPU until the worker refused a ninth model.
   */
  private unloadLeaving(next: NotebookDoc): void {
    const staying = next.cells.map((c) => c.id);
    for (const c of this.doc.cells) {
      if (kindOf(c.kind)?.needsLive && !staying.includes(c.id))
        void this.client.unload(c.id).catch(() => undefined);
    }
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
    this.library.schedule(this.doc);
  }

  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.showError(e, 'That edit is not possible');
    }
  }

  private showError(e: unknown, title: string): void {
    this.notice = errorNotice(e, title);
  }
}
