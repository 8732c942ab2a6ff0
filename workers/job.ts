/**
 * The worker boundary's one job shape, worker side. Every job method of the runtime API is built
 * by `JobRunner.define`: it registers an AbortController under the caller's job id (for
 * `cancel`), looks up the model the call names, delivers progress over the client's callback and
 * waits for it before answering, awaits the client's pause gate, and encodes the result — a
 * plain-data `summary` plus named Arrow tables sent as IPC bytes in the transfer list — the same
 * way for every job. The client (runtime-client.ts) derives its methods' types from these.
 */
import { releaseProxy, transfer } from 'comlink';
import { tableToIPC, type Table } from 'apache-arrow';
import { DEFAULT_MODEL_KEY } from './runtime-types';

/** One job as the client sends it: its id, its request, and the key of the model it runs on. */
export interface JobCall<R> {
  id: number;
  request: R;
  /** Key of the loaded model (see `LoadRequest.key`); default `default`. */
  model?: string;
}

/** Named Arrow tables (a table the job may leave out is `Table | undefined`). */
export type Tables = Record<string, Table | undefined>;

/** The IPC bytes of each table of `T` (optional where the table may be absent). */
export type Ipc<T extends Tables> = {
  [K in keyof T as undefined extends T[K] ? never : K]: Uint8Array;
} & { [K in keyof T as undefined extends T[K] ? K : never]?: Uint8Array };

/** What every job answers: plain data and named Arrow tables as IPC bytes. */
export interface JobResult<S, T extends Tables = Record<never, Table>> {
  summary: S;
  tables: Ipc<T>;
}

/**
 * A callback as the worker receives it: a comlink proxy (its calls return promises that settle
 * once the client has run it) when remote, a plain function when local.
 */
export type Callback<A> = (arg: A) => unknown;

/** A job method as the worker exposes it (positions fixed here, once, for every job). */
export type WireJob<R, P, S, T extends Tables> = (
  call: JobCall<R>,
  onProgress?: Callback<P>,
  waitIfPaused?: () => Promise<unknown>,
) => Promise<JobResult<S, T>>;

/** What a job body gets. */
export interface JobContext<P, M> {
  signal: AbortSignal;
  /** The model the call names; throws a clear error when none is loaded under its key. */
  model(): M;
  /** The key the call names (default `default`). */
  modelKey: string;
  /** Report progress (delivered in order; the job answers only after the client has seen all). */
  onProgress(p: P): void;
  /** Resolves at once unless the client paused the job (SAE training awaits it between steps). */
  waitIfPaused(): Promise<void>;
}

/** What a job body returns: the summary, its tables, and other buffers to transfer (not copy). */
export interface JobOutput<S, T extends Tables> {
  summary: S;
  tables?: T;
  transfer?: ArrayBuffer[];
}

/** Runs jobs: one AbortController per running job id, one way of answering. */
export class JobRunner<M> {
  private readonly running = new Map<number, AbortController>();

  constructor(private readonly lookup: (key: string) => M) {}

  /** Jobs running now. */
  get size(): number {
    return this.running.size;
  }

  /** Abort one job (unknown or finished ids are ignored). */
  cancel(id: number, reason = 'cancelled'): void {
    this.running.get(id)?.abort(new DOMException(reason, 'AbortError'));
  }

  /** Abort every running job. */
  cancelAll(reason: string): void {
    for (const id of this.running.keys()) this.cancel(id, reason);
  }

  /**
   * A job method running `body`. Annotate the body's parameters (`request: R`,
   * `ctx: JobContext<P, M>`, P = never when it reports no progress); the summary and tables are
   * inferred from what it returns.
   */
  define<R, P, S, T extends Tables = Record<never, Table>>(
    body: (request: R, ctx: JobContext<P, M>) => Promise<JobOutput<S, T>>,
  ): WireJob<R, P, S, T> {
    return async (call, onProgress, waitIfPaused) => {
      if (this.running.has(call.id)) throw new Error(`job ${call.id} is already running`);
      const controller = new AbortController();
      this.running.set(call.id, controller);
      const progress = new Delivery(onProgress);
      const modelKey = call.model ?? DEFAULT_MODEL_KEY;
      try {
        const out = await body(call.request, {
          signal: controller.signal,
          modelKey,
          model: () => this.lookup(modelKey),
          onProgress: (p) => progress.send(p),
          waitIfPaused: async () => void (await waitIfPaused?.()),
        });
        await progress.flushed();
        controller.signal.throwIfAborted();
        return encode(out);
      } finally {
        this.running.delete(call.id);
        progress.release();
        releaseCallback(waitIfPaused);
      }
    };
  }
}

/** The result as it crosses: tables as IPC bytes, every buffer moved rather than copied. */
function encode<S, T extends Tables>(out: JobOutput<S, T>): JobResult<S, T> {
  const tables: Record<string, Uint8Array> = {};
  const buffers = new Set(out.transfer);
  for (const [name, table] of Object.entries(out.tables ?? {})) {
    if (!table) continue;
    const bytes = tableToIPC(table, 'stream');
    tables[name] = bytes;
    buffers.add(bytes.buffer as ArrayBuffer);
  }
  return transfer({ summary: out.summary, tables: tables as Ipc<T> }, [...buffers]);
}

/**
 * Calls to a client callback. A comlink callback travels on its own MessagePort, so nothing orders
 * its messages against the job's result: `flushed()` waits until every call was handled, so the
 * client has seen the last progress before the job resolves. `release()` closes the port.
 */
class Delivery<A> {
  private pending: Promise<unknown>[] = [];

  constructor(private readonly cb: Callback<A> | undefined) {}

  send(arg: A): void {
    if (!this.cb) return;
    // Errors thrown by the client's callback are its own business; they must not stop the job.
    this.pending.push(Promise.resolve(this.cb(arg)).catch(() => undefined));
    if (this.pending.length > 256) this.pending = [Promise.all(this.pending)];
  }

  async flushed(): Promise<void> {
    await Promise.all(this.pending);
  }

  release(): void {
    releaseCallback(this.cb);
  }
}

/** Close a comlink callback's port (no-op for a plain function). */
function releaseCallback(cb: unknown): void {
  const r = (cb as { [releaseProxy]?: () => void } | undefined)?.[releaseProxy];
  if (typeof r === 'function') r.call(cb);
}
