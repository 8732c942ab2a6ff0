/**
 * Undo/redo as an immutable value: every operation returns a new History and leaves the old one
 * intact, so a Svelte `$state.raw` field (or any store) can simply be reassigned, and tests compare
 * plain values. Snapshots are whole documents; reducers share unchanged cells structurally, so a
 * snapshot costs about one changed cell, not one notebook.
 */

/** Options fixed when a history starts. */
export interface HistoryOptions {
  /** Most undo steps kept; older ones are dropped. Default 200. */
  limit?: number;
  /** Edits with the same coalesce key closer together than this merge into one step. Default 1000 ms. */
  coalesceMs?: number;
  /** Clock in milliseconds, injectable for tests. Default `Date.now`. */
  now?: () => number;
}

/** What one edit is. */
export interface PushOptions {
  /** Shown as "Undo {label}" (e.g. "edit markdown", "add cell", "delete cell"). */
  label: string;
  /**
   * Edits sharing a key (e.g. `"params:c1a2b3c4:source"`) within `coalesceMs` of the previous one
   * become a single undo step, so typing a paragraph is undone at once.
   */
  coalesceKey?: string;
}

interface Entry<T> {
  readonly value: T;
  readonly label: string;
  readonly key: string | undefined;
  /** Time of the latest edit merged into this entry; the coalescing window slides from it. */
  readonly at: number;
}

interface Config {
  readonly limit: number;
  readonly coalesceMs: number;
  readonly now: () => number;
}

/**
 * Bounded, coalescing undo/redo over immutable snapshots.
 *
 * @example
 * let h = History.start(doc, { now: () => performance.now() });
 * h = h.push(nextDoc, { label: 'edit markdown', coalesceKey: `params:${id}:source` });
 * if (h.canUndo) h = h.undo(); // h.present === doc
 * h = h.redo();                // h.present === nextDoc
 */
export class History<T> {
  private constructor(
    private readonly config: Config,
    private readonly past: readonly Entry<T>[],
    private readonly current: Entry<T>,
    private readonly future: readonly Entry<T>[],
    /** False once the present may no longer absorb edits (after undo/redo/seal). */
    private readonly open: boolean,
  ) {}

  /**
   * A history whose present is `initial`, with nothing to undo.
   *
   * @example
   * const h = History.start(emptyNotebook());
   */
  static start<T>(initial: T, options: HistoryOptions = {}): History<T> {
    const config: Config = {
      limit: Math.max(1, Math.floor(options.limit ?? 200)),
      coalesceMs: options.coalesceMs ?? 1000,
      now: options.now ?? Date.now,
    };
    return new History(config, [], { value: initial, label: '', key: undefined, at: -Infinity }, [], false);
  }

  /** The current snapshot. */
  get present(): T {
    return this.current.value;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Label of the step `undo()` would revert, for "Undo edit markdown" tooltips. */
  get undoLabel(): string | undefined {
    return this.canUndo ? this.current.label : undefined;
  }

  /** Label of the step `redo()` would reapply. */
  get redoLabel(): string | undefined {
    return this.future[0]?.label;
  }

  /** Number of undo steps available. */
  get undoDepth(): number {
    return this.past.length;
  }

  /**
   * Record `value` as the new present. Clears redo. Merges into the present step instead when it
   * has the same coalesce key and came within `coalesceMs` of the last edit merged into it. Pushing
   * the present value itself changes nothing.
   *
   * @example
   * h = h.push(withSource(doc, id, text), { label: 'edit markdown', coalesceKey: `params:${id}:source` });
   */
  push(value: T, options: PushOptions): History<T> {
    if (value === this.current.value) return this;
    const at = this.config.now();
    const key = options.coalesceKey;
    if (
      this.open &&
      key !== undefined &&
      key === this.current.key &&
      at - this.current.at <= this.config.coalesceMs
    ) {
      // Keep the label of the step's first edit: it names what undo will revert.
      return new History(this.config, this.past, { ...this.current, value, at }, [], true);
    }
    const past = [...this.past, this.current];
    if (past.length > this.config.limit) past.splice(0, past.length - this.config.limit);
    return new History(this.config, past, { value, label: options.label, key, at }, [], true);
  }

  /**
   * Step back; returns this history unchanged when there is nothing to undo.
   *
   * @example
   * if (h.canUndo) { h = h.undo(); doc = h.present; }
   */
  undo(): History<T> {
    const previous = this.past[this.past.length - 1];
    if (!previous) return this;
    return new History(this.config, this.past.slice(0, -1), previous, [this.current, ...this.future], false);
  }

  /**
   * Step forward again; returns this history unchanged when there is nothing to redo.
   *
   * @example
   * if (h.canRedo) { h = h.redo(); doc = h.present; }
   */
  redo(): History<T> {
    const next = this.future[0];
    if (!next) return this;
    return new History(this.config, [...this.past, this.current], next, this.future.slice(1), false);
  }

  /**
   * End the current coalescing group, so the next edit starts a new undo step even with the same
   * key (call it when a text field loses focus, or before a run).
   *
   * @example
   * onblur={() => (h = h.seal())}
   */
  seal(): History<T> {
    return this.open ? new History(this.config, this.past, this.current, this.future, false) : this;
  }

  /**
   * Forget all steps and start again from `value` with the same options (after opening a file or a
   * share link, whose load should not be undone into the previous notebook).
   *
   * @example
   * h = h.reset(parseNotebookFile(text, name));
   */
  reset(value: T): History<T> {
    return new History(this.config, [], { value, label: '', key: undefined, at: -Infinity }, [], false);
  }
}
