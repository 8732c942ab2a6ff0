/**
 * Results a worker keeps in memory for the cell that made them (pruned variants, trained SAEs):
 * one per cell (a new run replaces the old one), at most `max` in all (the least recently used
 * goes first), each named by a fresh id the view quotes back, and dropped with their model.
 */

/** A kept result and the model it was made on. */
export interface Kept<M> {
  model: M;
}

export class KeptByCell<M, T extends Kept<M>> {
  private readonly kept = new Map<string, { id: string; value: T }>();
  private counter = 0;

  /** `what` and `cell` name the kept thing and its cell in errors ("sweep", "the cell"). */
  constructor(
    private readonly max: number,
    private readonly what: string,
    private readonly cell = 'the cell',
  ) {}

  /** Keep `value` for `cellId` (replacing what the cell had); returns its new id. */
  keep(cellId: string, value: T): string {
    const id = `${cellId}#${++this.counter}-${Date.now().toString(36)}`;
    this.kept.delete(cellId);
    this.kept.set(cellId, { id, value });
    while (this.kept.size > this.max) this.kept.delete(this.kept.keys().next().value!);
    return id;
  }

  /**
   * What `cellId` keeps under `id` (now the most recently used), or an error that says to run the
   * cell again: after a reload, a newer run or an eviction the worker no longer holds what the
   * view shows.
   */
  get(cellId: string, id: string): T {
    const k = this.kept.get(cellId);
    if (!k || k.id !== id)
      throw new Error(
        `the worker no longer holds this ${this.what} (reloaded or re-run): run ${this.cell} again`,
      );
    this.kept.delete(cellId);
    this.kept.set(cellId, k);
    return k.value;
  }

  /** Forget everything made on `model` (it was unloaded or replaced). */
  dropModel(model: M): void {
    for (const [cellId, k] of this.kept) if (k.value.model === model) this.kept.delete(cellId);
  }

  clear(): void {
    this.kept.clear();
  }

  get size(): number {
    return this.kept.size;
  }
}
