/**
 * Runs a notebook's cells: reactivity (an edited cell and everything downstream re-run), one run at
 * a time in document order, latest run wins (a result computed for an outdated key is dropped),
 * cancellation, and a result cache so a reload restores what was computed. Pure TS over injected
 * kinds and services: the Svelte state class mirrors `onChange` into runes.
 */
import { describeError, isAbort } from '../state/errors';
import type { CellKind, CellServices, ResolvedInput } from '../cells/cell-kind';
import type { CellDoc, NotebookDoc } from './document';
import { IDLE, type CellResult, type CellRuntime } from './cell-runtime';
import { cellKeys, downstreamOf, upstreamOf } from './graph';

/** Where results are kept across reloads (IndexedDB in the app, a Map in tests). */
export interface ResultCache {
  load(cellId: string, key: string): Promise<CellResult | undefined>;
  save(cellId: string, key: string, result: CellResult): Promise<void>;
}

export interface SchedulerOptions {
  kindOf: (kind: string) => CellKind | undefined;
  services: CellServices;
  /** Called with a cell's new runtime state whenever it changes (and `undefined` when removed). */
  onChange: (cellId: string, runtime: CellRuntime | undefined) => void;
  cache?: ResultCache;
  /** Part of every key: results computed under another env (e.g. backend) are stale. */
  env?: () => Record<string, string>;
  now?: () => number;
  /**
   * False while nothing may run (a report opened without a model: results come from the file).
   * Runs asked for meanwhile are dropped, not queued. Default: always true.
   */
  canRun?: () => boolean;
}

interface Running {
  key: string;
  controller: AbortController;
  /** Pending while the user has the run paused; resolved by `resume`. */
  pause?: { promise: Promise<void>; resume: () => void };
}

export class Scheduler {
  private doc: NotebookDoc = { format: 'sparsebook-notebook', version: 2, title: '', cells: [] };
  private keys = new Map<string, string>();
  private readonly state = new Map<string, CellRuntime>();
  private readonly running = new Map<string, Running>();
  private readonly queue = new Set<string>();
  private pumping: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Current runtime state of a cell. */
  runtime(id: string): CellRuntime {
    return this.state.get(id) ?? IDLE;
  }

  /** The key a cell's result must have to be current. */
  keyOf(id: string): string | undefined {
    return this.keys.get(id);
  }

  /**
   * Adopt a new document. Results whose key changed become stale; runs for outdated keys are
   * aborted; `edited` cells and their stale or failed dependents are queued to run again.
   */
  setDocument(doc: NotebookDoc, edited: readonly string[] = []): void {
    this.doc = doc;
    this.keys = cellKeys(doc, this.options.env?.() ?? {}, (k) => this.options.kindOf(k));
    const present = new Set(doc.cells.map((c) => c.id));
    for (const id of [...this.state.keys()]) {
      if (!present.has(id)) {
        this.running.get(id)?.controller.abort();
        this.queue.delete(id);
        this.state.delete(id);
        this.options.onChange(id, undefined);
      }
    }
    for (const cell of doc.cells) this.refresh(cell);
    const toRun = new Set<string>();
    for (const id of edited) {
      if (!present.has(id)) continue;
      toRun.add(id);
      for (const d of downstreamOf(doc, id)) {
        const s = this.runtime(d).status;
        // A dependent running for its old key was just aborted (refresh): it runs again too.
        const outdatedRun = s === 'running' && this.running.get(d)?.key !== this.keys.get(d);
        if (s === 'stale' || s === 'error' || s === 'done' || outdatedRun) toRun.add(d);
      }
    }
    this.enqueue([...toRun]);
  }

  /** Run a cell (and whatever it needs), then its dependents that have run before. */
  run(id: string): void {
    const downstream = downstreamOf(this.doc, id).filter((d) => this.runtime(d).status !== 'idle');
    this.enqueue([id, ...downstream], true);
  }

  /** Run every cell in order. */
  runAll(): void {
    this.enqueue(
      this.doc.cells.map((c) => c.id),
      true,
    );
  }

  /**
   * Stop a cell's run (or remove it from the queue), and take its queued dependents off the queue
   * too: each would only start it again as its input.
   */
  cancel(id: string): void {
    if (this.queue.delete(id)) this.settleIdle(id, 'cancelled');
    for (const d of downstreamOf(this.doc, id)) if (this.queue.delete(d)) this.settleIdle(d, 'cancelled');
    this.running.get(id)?.controller.abort(new DOMException('cancelled', 'AbortError'));
  }

  /** Pause a running cell: its next `waitIfPaused` checkpoint waits until `resume`. */
  pause(id: string): void {
    const run = this.running.get(id);
    if (!run || run.pause) return;
    let resume!: () => void;
    const promise = new Promise<void>((r) => (resume = r));
    run.pause = { promise, resume };
    this.set(id, { ...this.runtime(id), paused: true });
  }

  /** Let a paused run go on. */
  resume(id: string): void {
    const run = this.running.get(id);
    if (!run?.pause) return;
    run.pause.resume();
    run.pause = undefined;
    this.set(id, { ...this.runtime(id), paused: false });
  }

  /** Stop everything. */
  cancelAll(): void {
    for (const id of [...this.queue]) this.cancel(id);
    for (const id of [...this.running.keys()]) this.cancel(id);
  }

  /** Resolves when nothing is queued or running (tests, export). */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /**
   * Fill cells without a result from the cache (a reload). Restored results of kinds that need
   * live worker state are shown but queued to run again, so dependents can use them.
   */
  async restore(): Promise<void> {
    const cache = this.options.cache;
    if (!cache) return;
    const reload: string[] = [];
    for (const cell of this.doc.cells) {
      const key = this.keys.get(cell.id);
      const kind = this.options.kindOf(cell.kind);
      if (!key || !kind?.run || this.runtime(cell.id).result) continue;
      let result: CellResult | undefined;
      try {
        result = await cache.load(cell.id, key);
      } catch {
        result = undefined; // an unreadable cache entry is just a miss
      }
      if (!result || this.keys.get(cell.id) !== key || this.runtime(cell.id).status === 'running') continue;
      const live = !kind.needsLive;
      this.set(cell.id, { status: 'done', result, resultKey: key, live, note: 'restored' });
      if (!live) reload.push(cell.id);
    }
    this.enqueue(reload);
  }

  // ── internals ────────────────────────────────────────────────────────────

  private cell(id: string): CellDoc | undefined {
    return this.doc.cells.find((c) => c.id === id);
  }

  private set(id: string, runtime: CellRuntime): void {
    this.state.set(id, runtime);
    this.options.onChange(id, runtime);
  }

  /** Recompute one cell's status against its (possibly new) key. */
  private refresh(cell: CellDoc): void {
    const key = this.keys.get(cell.id)!;
    const kind = this.options.kindOf(cell.kind);
    const rt = this.runtime(cell.id);
    if (!kind) {
      this.set(cell.id, {
        status: 'error',
        error: { title: 'Unknown cell kind', message: `no cell kind "${cell.kind}" in this build` },
      });
      return;
    }
    if (!kind.run) {
      if (rt.status !== 'done' || rt.resultKey !== key) this.set(cell.id, { status: 'done', resultKey: key });
      return;
    }
    const run = this.running.get(cell.id);
    if (run && run.key !== key) run.controller.abort(new DOMException('outdated', 'AbortError'));
    if (rt.status === 'done' && rt.resultKey !== key)
      this.set(cell.id, { ...rt, status: 'stale', note: undefined });
    if (rt.status === 'stale' && rt.resultKey === key) this.set(cell.id, { ...rt, status: 'done' });
  }

  /** A current result that dependents may use. */
  private fresh(id: string): boolean {
    const cell = this.cell(id);
    const kind = cell && this.options.kindOf(cell.kind);
    if (!cell || !kind) return false;
    if (!kind.run) return true;
    const rt = this.runtime(id);
    return rt.status === 'done' && rt.resultKey === this.keys.get(id) && rt.live !== false;
  }

  private enqueue(ids: readonly string[], force = false): void {
    if (this.options.canRun && !this.options.canRun()) return;
    for (const id of ids) {
      const cell = this.cell(id);
      if (!cell || !this.options.kindOf(cell.kind)?.run) continue;
      if (!force && this.fresh(id)) continue;
      this.queue.add(id);
      this.set(id, { ...this.runtime(id), status: 'queued', note: undefined });
    }
    if (this.queue.size > 0) this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = (async () => {
      try {
        for (;;) {
          const next = this.doc.cells.find((c) => this.queue.has(c.id));
          if (!next) break;
          this.queue.delete(next.id);
          await this.runOne(next);
        }
      } finally {
        this.pumping = undefined;
      }
    })();
  }

  /** Run one cell whose turn it is; inputs that are not current are run first, in order. */
  private async runOne(cell: CellDoc): Promise<void> {
    const kind = this.options.kindOf(cell.kind)!;
    for (const up of upstreamOf(this.doc, cell.id)) {
      if (this.fresh(up)) continue;
      const upCell = this.cell(up)!;
      this.queue.delete(up);
      if (this.runtime(up).status !== 'error') await this.runOne(upCell);
      if (!this.fresh(up)) {
        const why = this.runtime(up).status === 'error' ? 'failed' : 'has no result';
        this.settleIdle(cell.id, `waiting for input ${up} (it ${why})`);
        return;
      }
    }
    const inputs: Record<string, ResolvedInput> = {};
    for (const [role, id] of Object.entries(cell.inputs)) {
      inputs[role] = { cell: this.cell(id)!, result: this.runtime(id).result! };
    }
    for (const spec of kind.inputs) {
      if (!inputs[spec.role]) {
        this.set(cell.id, {
          status: 'error',
          error: {
            title: 'Missing input',
            message: `choose a ${spec.label.toLowerCase()} cell for this cell to read`,
          },
        });
        return;
      }
    }
    const waiting = kind.waitingFor?.(cell);
    if (waiting) {
      this.settleIdle(cell.id, waiting);
      return;
    }
    const key = this.keys.get(cell.id)!;
    const controller = new AbortController();
    const running: Running = { key, controller };
    this.running.set(cell.id, running);
    const startedAt = this.now();
    const prev = this.runtime(cell.id);
    this.set(cell.id, {
      ...prev,
      status: 'running',
      startedAt,
      progress: undefined,
      phase: undefined,
      error: undefined,
      partial: undefined,
      paused: undefined,
    });
    const current = () => this.running.get(cell.id) === running;
    // A result restored for this very key (a reload) lets a live-state kind rebuild from it.
    const restored = prev.resultKey === key && prev.live === false ? prev.result : undefined;
    // Cancelling a paused run must not leave it waiting for a resume that never comes.
    const unpauseOnAbort = () => running.pause?.resume();
    controller.signal.addEventListener('abort', unpauseOnAbort);
    try {
      const result = await kind.run!({
        cell,
        inputs,
        signal: controller.signal,
        services: this.options.services,
        ...(restored ? { restored } : {}),
        progress: (progress, phase) => {
          if (current()) this.set(cell.id, { ...this.runtime(cell.id), progress, phase });
        },
        partial: (meta) => {
          if (current()) this.set(cell.id, { ...this.runtime(cell.id), partial: meta });
        },
        waitIfPaused: async () => {
          while (running.pause && !controller.signal.aborted) await running.pause.promise;
        },
      });
      controller.signal.throwIfAborted();
      if (this.keys.get(cell.id) !== key) return; // outdated: the newer key's run is queued
      const elapsedMs = this.now() - startedAt;
      this.set(cell.id, { status: 'done', result, resultKey: key, live: true, elapsedMs });
      void this.options.cache?.save(cell.id, key, result).catch(() => undefined);
    } catch (e) {
      if (isAbort(e) || controller.signal.aborted) {
        if (this.keys.get(cell.id) === key) this.settleIdle(cell.id, 'cancelled');
      } else {
        this.set(cell.id, { status: 'error', error: describeError(e), elapsedMs: this.now() - startedAt });
      }
    } finally {
      controller.signal.removeEventListener('abort', unpauseOnAbort);
      if (current()) this.running.delete(cell.id);
    }
  }

  /** Back to rest after a cancel or a blocked input: keep a result, marked stale if outdated. */
  private settleIdle(id: string, note: string): void {
    const rt = this.runtime(id);
    const key = this.keys.get(id);
    const status = rt.result ? (rt.resultKey === key ? 'done' : 'stale') : 'idle';
    this.set(id, {
      ...rt,
      status,
      note,
      progress: undefined,
      phase: undefined,
      startedAt: undefined,
      partial: undefined,
      paused: undefined,
    });
  }
}
