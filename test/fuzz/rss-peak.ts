/**
 * Peak resident memory while synchronous code runs. A parser runs on the main thread and cannot be
 * interrupted, so a worker thread samples the process's RSS (process-wide) every millisecond while
 * a shared flag says "measuring", and keeps the largest value it saw.
 */
import { Worker } from 'node:worker_threads';

const SAMPLER = `
const { workerData } = require('node:worker_threads');
const state = new Int32Array(workerData);
// state[0]: 1 while measuring, 2 to exit; state[1]: peak RSS in MiB since measuring began.
for (;;) {
  Atomics.wait(state, 0, 0);
  if (Atomics.load(state, 0) === 2) break;
  while (Atomics.load(state, 0) === 1) {
    const mib = Math.ceil(process.memoryUsage.rss() / 1048576);
    if (mib > Atomics.load(state, 1)) Atomics.store(state, 1, mib);
    Atomics.wait(state, 0, 1, 1);
  }
}
`;

export class RssPeak {
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;

  private constructor() {
    this.worker = new Worker(SAMPLER, { eval: true, workerData: this.state.buffer });
  }

  /** Start the sampler thread and wait until it runs. */
  static async start(): Promise<RssPeak> {
    const peak = new RssPeak();
    await new Promise<void>((resolve, reject) => {
      peak.worker.once('online', resolve);
      peak.worker.once('error', reject);
    });
    peak.worker.unref();
    return peak;
  }

  /**
   * Run `f` and return its outcome with the peak RSS growth over the RSS before it (MiB).
   *
   * @example
   * const { mib } = rss.measure(() => decodeReport(bytes));
   */
  measure<T>(f: () => T): { mib: number; ms: number; value?: T; error?: unknown } {
    const before = Math.ceil(process.memoryUsage.rss() / 1048576);
    Atomics.store(this.state, 1, before);
    Atomics.store(this.state, 0, 1);
    Atomics.notify(this.state, 0);
    const t0 = performance.now();
    let value: T | undefined;
    let error: unknown;
    let threw = false;
    try {
      value = f();
    } catch (e) {
      error = e;
      threw = true;
    }
    const ms = performance.now() - t0;
    const now = Math.ceil(process.memoryUsage.rss() / 1048576);
    Atomics.store(this.state, 0, 0);
    const mib = Math.max(Atomics.load(this.state, 1), now) - before;
    return threw ? { mib, ms, error } : { mib, ms, value: value as T };
  }

  async stop(): Promise<void> {
    Atomics.store(this.state, 0, 2);
    Atomics.notify(this.state, 0);
    await this.worker.terminate();
  }
}
