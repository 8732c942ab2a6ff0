/**
 * A cell's answer to the notebook's selection, one of its views' worker requests: computed when
 * the cell is live (newest request wins, as `Latest`) and kept beside the cell's result
 * (`CellContext.keepAnswer`), or read back from what was kept when there is no worker (a report).
 * `key` (an `answerKey`) names what an answer is of, so a view only ever shows the answer for
 * what it shows now.
 */
import type { Json } from '../notebook/cell-runtime';
import type { CellContext } from './cell-context';
import { Latest } from './latest.svelte';

export class SelectionAnswer<T> {
  readonly #latest = new Latest<{ key: string; value: T }>();

  constructor(
    /** The notebook and the cell the answers are kept under (read when used: view props change). */
    private readonly owner: () => { nb: CellContext; cellId: string },
    /** A kept answer read back (a report's: untrusted), or undefined when it is not one. */
    private readonly fromKept: (kept: Json | undefined) => T | undefined,
    /** What of an answer is kept (JSON-able); the answer itself by default. */
    private readonly toKept: (value: T) => object = (value) => value as object,
  ) {}

  /** Compute `key`'s answer in the worker (aborting the one before) and keep it. */
  run(key: string, compute: (signal: AbortSignal) => Promise<T>): void {
    void this.#latest.run(async (signal) => {
      const value = await compute(signal);
      if (!signal.aborted) {
        const { nb, cellId } = this.owner();
        nb.keepAnswer(cellId, key, this.toKept(value));
      }
      return { key, value };
    });
  }

  /** `key`'s answer: this session's when `live`, else the one kept with the result. */
  answerFor(key: string | undefined, live: boolean): T | undefined {
    if (key === undefined) return undefined;
    if (!live) {
      const { nb, cellId } = this.owner();
      return this.fromKept(nb.keptAnswer(cellId, key));
    }
    const latest = this.#latest.value;
    return latest?.key === key ? latest.value : undefined;
  }

  get busy(): boolean {
    return this.#latest.busy;
  }

  get error() {
    return this.#latest.error;
  }

  clear(): void {
    this.#latest.clear();
  }

  abort(): void {
    this.#latest.abort();
  }
}
