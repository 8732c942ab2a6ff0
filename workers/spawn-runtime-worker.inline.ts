/**
 * Start the runtime worker from a copy bundled into the page itself (a blob: URL): what a report
 * uses, so it needs no file beside it and works from file://.
 */
import RuntimeWorker from './runtime.worker.ts?worker&inline';

export function spawnRuntimeWorker(): Worker {
  return new RuntimeWorker({ name: 'runtime' });
}
