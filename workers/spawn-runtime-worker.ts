/**
 * Start the runtime worker from its own file (the app). Reports build with
 * spawn-runtime-worker.inline.ts in its place (scripts/report-shell.ts), so their worker travels
 * inside the one HTML file.
 */
export function spawnRuntimeWorker(): Worker {
  return new Worker(new URL('./runtime.worker.ts', import.meta.url), { type: 'module', name: 'runtime' });
}
