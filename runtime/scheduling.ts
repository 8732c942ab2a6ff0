/**
 * Cooperative yielding for long loops. On the CPU backend every op is synchronous, so a loss
 * evaluation would never let an abort message (or a UI repaint) through; yielding a macrotask now
 * and then fixes that at negligible cost.
 */

const YIELD_EVERY_MS = 30;

/** Returns a function that yields to the event loop when more than ~30 ms passed since the last yield. */
export function createYielder(): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < YIELD_EVERY_MS) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    last = Date.now();
  };
}
