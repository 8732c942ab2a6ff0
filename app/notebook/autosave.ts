/**
 * Debounced autosave: call `schedule(doc)` on every change; the latest value is written once the
 * edits pause (and at least every `maxWaitMs` during continuous typing), writes never overlap, and
 * `flush()` writes now (before opening another notebook). A failed write keeps its value pending,
 * so nothing is dropped; it is retried by the next change or flush.
 *
 * `flushNow()` is for a page being hidden or closed: it calls `save` in the same task, without
 * waiting behind a write in progress, because nothing the page awaits after `pagehide` is sure to
 * run. That is safe only when `save` starts its write synchronously and the storage orders writes
 * by when they started (an IndexedDB readwrite transaction does: transactions over the same store
 * commit in creation order), so an older value still cannot land last.
 */

/** A timer implementation; injectable so tests control time. */
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Options for {@link createAutosave}. */
export interface AutosaveOptions<T> {
  /** Quiet time after the last change before saving. Default 500 ms. */
  delayMs?: number;
  /** Longest a change waits while changes keep coming. Default 5000 ms. */
  maxWaitMs?: number;
  /** Default: setTimeout/clearTimeout. */
  timers?: Timers;
  /** Called with each background save's error (a StorageError for quota). Default: console.error. */
  onError?: (error: unknown) => void;
  /** Called after each successful save with the value saved. */
  onSaved?: (value: T) => void;
}

/** A running autosave. */
export interface Autosave<T> {
  /** Note a change; `value` replaces any value not yet saved. */
  schedule(value: T): void;
  /** Save the pending value now (if any) and resolve when every write so far is done; rejects if this write fails. */
  flush(): Promise<void>;
  /**
   * Call `save` with the pending value in this very task (page hide), even while an earlier write
   * is still in progress; resolves when every write so far is done, rejects if this one fails.
   */
  flushNow(): Promise<void>;
  /** Drop the pending value and stop the timers (a write in progress still finishes). */
  cancel(): void;
  /** True while a value waits to be saved. */
  readonly pending: boolean;
}

const realTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Start an autosave around `save`.
 *
 * @example
 * const autosave = createAutosave((doc: NotebookDoc) => store.saveNotebook('current', doc), {
 *   onError: (e) => showError(e),
 * });
 * $effect(() => autosave.schedule($state.snapshot(notebook.doc)));
 * addEventListener('pagehide', () => void autosave.flushNow());
 */
export function createAutosave<T>(
  save: (value: T) => Promise<void>,
  options: AutosaveOptions<T> = {},
): Autosave<T> {
  const delayMs = options.delayMs ?? 500;
  const maxWaitMs = options.maxWaitMs ?? 5000;
  const timers = options.timers ?? realTimers;
  const onError = options.onError ?? ((e: unknown) => console.error('autosave failed', e));

  let waiting: { value: T; seq: number } | undefined;
  let debounce: unknown;
  let deadline: unknown;
  let seq = 0;
  /** The newest value a write has taken: an older write that fails must not bring its value back. */
  let newestTaken = 0;
  // Every write is chained after the previous one, so an older value can never land last.
  let chain: Promise<void> = Promise.resolve();

  const stopTimers = () => {
    if (debounce !== undefined) timers.clear(debounce);
    if (deadline !== undefined) timers.clear(deadline);
    debounce = deadline = undefined;
  };

  /** Save `next`; on failure keep it pending unless a newer value has arrived or been taken. */
  const saveTaken = async (next: { value: T; seq: number }): Promise<void> => {
    newestTaken = Math.max(newestTaken, next.seq);
    try {
      await save(next.value);
    } catch (e) {
      if (!waiting && newestTaken === next.seq) waiting = next;
      throw e;
    }
    options.onSaved?.(next.value);
  };

  const write = (): Promise<void> => {
    stopTimers();
    const run = chain.then(async () => {
      const next = waiting;
      waiting = undefined;
      if (!next) return; // an earlier write already took it
      await saveTaken(next);
    });
    chain = run.catch(() => {});
    return run;
  };

  const fire = () => {
    write().catch(onError);
  };

  return {
    schedule(value) {
      waiting = { value, seq: ++seq };
      if (debounce !== undefined) timers.clear(debounce);
      debounce = timers.set(fire, delayMs);
      deadline ??= timers.set(fire, maxWaitMs);
    },
    flush() {
      return waiting ? write() : chain;
    },
    flushNow() {
      const next = waiting;
      if (!next) return chain;
      stopTimers();
      waiting = undefined; // a chained write that has not started yet finds nothing and returns
      const run = saveTaken(next); // calls save() before returning: the write starts in this task
      const all = Promise.all([chain, run]).then(() => {});
      chain = all.catch(() => {});
      return run.then(() => all);
    },
    cancel() {
      stopTimers();
      waiting = undefined;
    },
    get pending() {
      return waiting !== undefined;
    },
  };
}
