/**
 * One on-demand worker request of a view (a feature card, a prompt, a steering run): the newest
 * request wins — starting one aborts the one before, and only the newest sets the value, the busy
 * flag or the error. Views call `abort()` when they unmount, so nothing runs for a closed view.
 */
import { describeError, isAbort, type ErrorView } from './errors';

export class Latest<T> {
  value = $state.raw<T | undefined>(undefined);
  busy = $state(false);
  error = $state.raw<ErrorView | undefined>(undefined);
  #controller: AbortController | undefined;

  /** Start a request (aborting the previous one); resolves when it settles, never rejects. */
  async run(start: (signal: AbortSignal) => Promise<T>): Promise<void> {
    this.#controller?.abort();
    const controller = new AbortController();
    this.#controller = controller;
    this.busy = true;
    this.error = undefined;
    try {
      const value = await start(controller.signal);
      if (this.#controller === controller) this.value = value;
    } catch (e) {
      if (this.#controller === controller && !isAbort(e)) this.error = describeError(e);
    } finally {
      if (this.#controller === controller) {
        this.busy = false;
        this.#controller = undefined;
      }
    }
  }

  /** Abort the running request, if any (its result is dropped). */
  abort(): void {
    this.#controller?.abort();
    this.#controller = undefined;
    this.busy = false;
  }

  /** Abort and forget the value and the error. */
  clear(): void {
    this.abort();
    this.value = undefined;
    this.error = undefined;
  }
}
