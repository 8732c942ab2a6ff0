/**
 * The main thread's handle on the runtime worker: every job of the API (runtime-api.ts) as a
 * method `(request, { signal, model, onProgress, waitIfPaused })` answering `{ summary, tables }`
 * (tables as Arrow IPC bytes: cells keep and persist them; `readTable` decodes one), typed from
 * the API's own type. It keeps error classes, and recovers from a lost GPU device (the interrupted
 * job re-runs once) and from a crashed worker (its calls fail at once with WorkerCrashedError;
 * the next job starts a fresh worker). Imports from the worker modules are types only; all
 * compute stays in the worker.
 *
 * @example
 * const rt = createRuntimeClient();
 * await rt.init('webgpu');
 * await rt.load({ files: [{ name: 'stories260K.bin', bytes }, { name: 'tok512.bin', bytes: tokBytes }] });
 * const top = readTable((await rt.nextToken({ text: 'Once upon a time', topK: 10 }, { signal })).tables.next);
 */
import { spawnRuntimeWorker } from './spawn-runtime-worker';
import { proxy, transfer, wrap, type Endpoint, type Remote } from 'comlink';
import { tableFromIPC, type Table, type TypeMap } from 'apache-arrow';
import { DeviceLostError } from '../kernels/backend';
import { installErrorTransfer } from './error-transfer';
import type { RuntimeApi } from './runtime.worker';
import type { Callback, JobCall } from './job';
import type { HubLoadRequest } from './hub-types';
import type { SaeTrainProgress } from './sae-jobs';
import {
  DEFAULT_MODEL_KEY,
  type BackendInfo,
  type BackendKind,
  type GeneratedToken,
  type LoadRequest,
} from './runtime-types';

installErrorTransfer();

/** A worker, or anything with its messaging surface (a MessagePort in tests). */
export type WorkerLike = Endpoint & { terminate(): void };

export interface RuntimeClientOptions {
  /** Creates the worker; defaults to the bundled runtime worker. */
  createWorker?: () => WorkerLike;
  /**
   * How long a cancelled job may take to reach its next checkpoint before the worker is
   * terminated and restarted (backend re-created, model reloaded). Default 3000 ms.
   */
  cancelGraceMs?: number;
  /**
   * How long bringing a backend up may take: `init`, and after a restart or a device loss, `init`
   * plus reloading every model. Past it the job fails with WorkerCrashedError, the worker is
   * terminated and the next job starts a fresh one, so the queue never waits on it. Default 120 s.
   */
  restartTimeoutMs?: number;
}

/**
 * Message of the error a job fails with when the GPU device is lost again while it re-runs after
 * a first loss (the backend and models were reloaded once more, so the next run starts clean).
 */
export const DEVICE_LOST_AGAIN =
  'GPU device lost twice while running this job — the model was reloaded; run the cell again';

/**
 * The runtime worker died (it reported an `error` or `messageerror` event, or did not come back up
 * after a restart): every call it had in flight fails with this at once. The next job starts a
 * fresh worker and reloads the backend and models first.
 */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

/** How a job runs: its signal, the model it runs on, and the callbacks it reports to. */
export type JobOptions<P = never> = {
  signal?: AbortSignal;
  /** Key of the model to use (see `LoadRequest.key`); default `default`. */
  model?: string;
  /**
   * Awaited in the worker (over the port) between steps by jobs that can pause (SAE training):
   * keeping it pending pauses the job.
   */
  waitIfPaused?: () => Promise<void>;
} & ([P] extends [never] ? unknown : { onProgress?: (p: P) => void });

/** The client's side of one worker job: request and named options in, `{ summary, tables }` out. */
type ClientJob<F> = F extends (
  call: JobCall<infer R>,
  onProgress?: Callback<infer P>,
  waitIfPaused?: never,
) => Promise<infer O>
  ? (request: R, options?: JobOptions<P>) => Promise<O>
  : never;

/** Names of the API's job methods (those `JobRunner.define` built). */
type JobName = {
  [M in keyof RuntimeApi]: RuntimeApi[M] extends (call: JobCall<never>, ...rest: never[]) => Promise<unknown>
    ? M
    : never;
}[keyof RuntimeApi];

/** Every job, listed once for the client to build its methods (the type refuses a missing or extra name). */
const JOBS: Record<JobName, true> = {
  load: true,
  loadHub: true,
  nextToken: true,
  forward: true,
  inspect: true,
  tokenLoss: true,
  loss: true,
  generate: true,
  attentionProbes: true,
  attentionMask: true,
  attentionMaskTokenLoss: true,
  attentionSweep: true,
  moeRouting: true,
  logitLens: true,
  patching: true,
  logitAttribution: true,
  activations: true,
  moeLab: true,
  moeTokenRoute: true,
  moeBalance: true,
  moeInterventions: true,
  pruningSweep: true,
  pruningMask: true,
  pruningTokenLoss: true,
  pruningExport: true,
  saeTrain: true,
  saeImport: true,
  saeHub: true,
  saeBrowse: true,
  saeFeature: true,
  saePrompt: true,
  saeSteer: true,
  saeAblate: true,
};

/** The API's plain methods, answering through a promise. */
type Control = {
  [M in 'init' | 'unload']: (
    ...args: Parameters<RuntimeApi[M]>
  ) => Promise<Awaited<ReturnType<RuntimeApi[M]>>>;
};

/**
 * Typed client of the runtime worker: the API's jobs (see runtime-api.ts for what each does),
 * `init` (create the backend in the worker), `unload` (free a model), the backend now, `dispose`.
 * `load` keeps the given buffers (so do not mutate them) to reload the model after a device loss
 * or a worker crash; the worker gets a copy.
 */
export type RuntimeClient = { [M in JobName]: ClientJob<RuntimeApi[M]> } & Control & {
    /** The backend the worker runs on now, if initialised. */
    readonly backend: BackendInfo | undefined;
    /** Terminate the worker. */
    dispose(): void;
  };

/** What job `M` answers on the client: `{ summary, tables }`. */
export type JobAnswer<M extends JobName> = Awaited<ReturnType<RuntimeClient[M]>>;

/** Decode one table of a job's result (Arrow IPC bytes). */
export function readTable<T extends TypeMap = TypeMap>(bytes: Uint8Array): Table<T> {
  return tableFromIPC<T>(bytes);
}

/** A job method called by name, loosely typed (the client's types come from `RuntimeClient`). */
type AnyJob = (call: JobCall<unknown>, onProgress?: unknown, waitIfPaused?: unknown) => Promise<unknown>;

/** Options of any job, as the generic path handles them. */
interface AnyOptions {
  signal?: AbortSignal;
  model?: string;
  onProgress?: (p: unknown) => void;
  waitIfPaused?: () => Promise<void>;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** One worker and what the client knows about it. */
interface Slot {
  worker: WorkerLike;
  api: Remote<RuntimeApi>;
  /**
   * Reject functions of the calls in flight, each called with the error when the worker dies. A
   * set rather than a promise every call races: a race leaves a reaction on a promise that
   * never settles while the worker lives, so each job would leak one for the page's lifetime.
   */
  onDeath: Set<(e: Error) => void>;
  /** Why the worker died, once it did. */
  death?: Error;
  kill: (error: Error) => void;
  killed: boolean;
  /** The backend and every model are up in this worker; false: restore them before the next job. */
  ready: boolean;
}

class TimeoutError extends Error {}

/** What an `error` / `messageerror` event from a worker says. */
function describeEvent(ev: Event): string {
  if (ev.type === 'messageerror') return 'a message from it could not be deserialized (messageerror)';
  const e = ev as Partial<ErrorEvent>;
  const where = e.filename ? ` at ${e.filename}${e.lineno ? `:${e.lineno}` : ''}` : '';
  const what = e.message || (e.error instanceof Error ? e.error.message : '') || 'no message';
  return `it reported an error: ${what}${where}`;
}

function abortError(): DOMException {
  return new DOMException('cancelled', 'AbortError');
}

function defaultWorker(): WorkerLike {
  return spawnRuntimeWorker();
}

/** Start a runtime worker and return its typed client. */
export function createRuntimeClient(options: RuntimeClientOptions = {}): RuntimeClient {
  const spawn = options.createWorker ?? defaultWorker;
  const graceMs = options.cancelGraceMs ?? 3000;
  const restartMs = options.restartTimeoutMs ?? 120_000;
  let backendKind: BackendKind | undefined;
  let backend: BackendInfo | undefined;
  /**
   * Every loaded model's request by key, to reload them on a fresh worker or device (a hub model
   * from the hub again: from the browser's cache, after an ETag check).
   */
  const loads = new Map<string, LoadRequest | { hub: HubLoadRequest }>();
  let nextJobId = 1;
  // Jobs run one at a time: each waits for the previous one to settle in the worker (a cancelled
  // job is rejected at once on this side but may need a moment to reach its next checkpoint).
  let tail: Promise<unknown> = Promise.resolve();
  let disposed = false;
  /** The current worker; undefined after one died, until the next job starts another. */
  let slot: Slot | undefined = startWorker(true);

  /** Spawn a worker and listen for its death. */
  function startWorker(ready: boolean): Slot {
    const worker = spawn();
    const s: Slot = {
      worker,
      api: wrap<RuntimeApi>(worker),
      onDeath: new Set(),
      killed: false,
      ready,
      kill(error) {
        if (s.killed) return;
        s.killed = true;
        s.death = error;
        for (const fail of s.onDeath) fail(error);
        s.onDeath.clear();
        worker.removeEventListener('error', onDeath);
        worker.removeEventListener('messageerror', onDeath);
        try {
          worker.terminate();
        } catch {
          // already gone
        }
        if (slot === s) slot = undefined;
      },
    };
    const onDeath = (ev: Event) => {
      // Handled here (the running job fails with it), so not reported again as the page's own error.
      ev.preventDefault();
      s.kill(
        new WorkerCrashedError(
          `The runtime worker crashed (${describeEvent(ev)}). A fresh worker will reload the model for the next run; run the cell again.`,
        ),
      );
    };
    worker.addEventListener('error', onDeath);
    worker.addEventListener('messageerror', onDeath);
    return s;
  }

  /** `p`, or the worker's death, whichever comes first (nothing of it stays once `p` settles). */
  function guard<T>(s: Slot, p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (s.death) return reject(s.death);
      s.onDeath.add(reject);
      p.then(
        (value) => {
          s.onDeath.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          s.onDeath.delete(reject);
          reject(error);
        },
      );
    });
  }

  /** `p`, or a TimeoutError after `restartMs`. */
  function bounded<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`${what} did not finish within ${Math.round(restartMs / 1000)} s`)),
        restartMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * The call of job `name` with id `id`; a load's files are a copy of the bytes, moved (not
   * cloned) to the worker, which keeps views into them.
   */
  function message(name: JobName, id: number, request: unknown, model?: string): JobCall<unknown> {
    if (name !== 'load') return { id, request, model };
    const r = request as LoadRequest;
    const files = r.files.map((f) => ({ name: f.name, bytes: f.bytes.slice(0) }));
    return transfer(
      { id, request: { ...r, files }, model },
      files.map((f) => f.bytes),
    );
  }

  /** Call job `name` on `api` (progress and pause callbacks proxied to their own ports). */
  function send(api: Remote<RuntimeApi>, name: JobName, id: number, request: unknown, o: AnyOptions = {}) {
    const fn = api[name] as unknown as AnyJob;
    return fn(
      message(name, id, request, o.model),
      o.onProgress ? proxy(o.onProgress) : undefined,
      o.waitIfPaused ? proxy(o.waitIfPaused) : undefined,
    );
  }

  /**
   * Bring a fresh backend (and every loaded model) up in `s`, bounded by `restartMs`. A worker
   * that does not come back in time is terminated (the job fails with WorkerCrashedError and the
   * next one starts another worker); one that answers with an error stays, to be tried again.
   */
  async function restore(s: Slot, what: string): Promise<void> {
    s.ready = false;
    if (!backendKind) {
      s.ready = true;
      return;
    }
    const kind = backendKind;
    const work = (async () => {
      backend = await s.api.init(kind);
      for (const request of loads.values()) {
        if ('hub' in request) await send(s.api, 'loadHub', nextJobId++, request.hub);
        else await send(s.api, 'load', nextJobId++, request);
      }
    })();
    try {
      await bounded(guard(s, work), what);
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      const error = new WorkerCrashedError(
        `The runtime worker did not answer: ${e.message}. It was stopped and a fresh one starts with the next run; run the cell again.`,
      );
      s.kill(error);
      throw error;
    }
    s.ready = true;
  }

  /** The worker to run the next job on: a fresh one if the last died, restored if need be. */
  async function readyWorker(): Promise<Slot> {
    const s = slot ?? (slot = startWorker(false));
    if (!s.ready) await restore(s, 'restarting the backend and reloading the model');
    return s;
  }

  function enqueue<T>(run: () => Promise<T>): Promise<T> {
    const result = tail.then(run);
    tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Run one job: wait for the worker to be free, start it, and reject with an AbortError as soon
   * as the signal fires. The worker is told to stop; if the job has not settled within the grace
   * period, the worker is terminated (the next job starts a fresh one) so the queue moves on. A
   * DeviceLostError re-creates the backend, reloads the models and runs the job once more; a
   * second loss fails it. A worker that dies fails the job at once with WorkerCrashedError.
   */
  function job<T>(
    signal: AbortSignal | undefined,
    start: (remote: Remote<RuntimeApi>, jobId: number) => Promise<T>,
  ): Promise<T> {
    if (disposed) return Promise.reject(new Error('the runtime client was disposed'));
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise<T>((resolve, reject) => {
      let cancelRunning: (() => void) | undefined;
      let aborted = false;
      const onAbort = () => {
        aborted = true;
        reject(abortError());
        cancelRunning?.();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void enqueue(async () => {
        try {
          for (let attempt = 0; ; attempt++) {
            if (aborted) return;
            const s = await readyWorker();
            if (aborted) return;
            const outcome = await runOnce(s, start, (cancel) => (cancelRunning = cancel));
            cancelRunning = undefined;
            if (outcome.ok) return resolve(outcome.value);
            const error = outcome.error;
            if (!(error instanceof DeviceLostError) || aborted) return reject(error);
            const failed = await recoverFromDeviceLoss(s, error);
            if (failed) return reject(failed);
            if (attempt >= 1) return reject(new DeviceLostError(error.reason, DEVICE_LOST_AGAIN));
            // The backend and models are back: run the interrupted job once more, by itself.
          }
        } catch (e) {
          reject(e);
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      });
    });
  }

  /** Start the job on `s` and settle with it, with the worker's death, or after a stuck cancel. */
  function runOnce<T>(
    s: Slot,
    start: (remote: Remote<RuntimeApi>, jobId: number) => Promise<T>,
    onCancellable: (cancel: () => void) => void,
  ): Promise<Outcome<T>> {
    const jobId = nextJobId++;
    const call = guard(s, start(s.api, jobId)).then(
      (value): Outcome<T> => ({ ok: true, value }),
      (error: unknown): Outcome<T> => ({ ok: false, error }),
    );
    let onStuck = () => {};
    const stuck = new Promise<Outcome<T>>((done) => {
      onStuck = () => done({ ok: false, error: abortError() });
    });
    onCancellable(() => {
      void guard(s, s.api.cancel(jobId)).catch(() => undefined);
      const timer = setTimeout(() => {
        // The job ignores its cancel: drop the worker; the next job starts a fresh one.
        s.kill(abortError());
        onStuck();
      }, graceMs);
      void call.then(() => clearTimeout(timer));
    });
    return Promise.race([call, stuck]);
  }

  /** Re-create the backend and reload the models after a loss; an error to fail the job with, if that fails. */
  async function recoverFromDeviceLoss(s: Slot, e: DeviceLostError): Promise<Error | undefined> {
    try {
      await restore(s, 'reloading the model after the GPU device was lost');
      return undefined;
    } catch (reloadError) {
      if (reloadError instanceof WorkerCrashedError) return reloadError;
      const why = reloadError instanceof Error ? reloadError.message : String(reloadError);
      return new DeviceLostError(e.reason, `GPU device lost and the model could not be reloaded: ${why}`);
    }
  }

  /** Run job `name` through the queue, with device-loss re-runs and crash recovery. */
  function run(name: JobName, request: unknown, options: AnyOptions = {}): Promise<unknown> {
    return job(options.signal, (remote, id) => send(remote, name, id, request, options));
  }

  const jobs = Object.fromEntries(
    Object.keys(JOBS).map((name) => [
      name,
      (request: unknown, o?: AnyOptions) => run(name as JobName, request, o),
    ]),
  ) as { [M in JobName]: ClientJob<RuntimeApi[M]> };

  return {
    ...jobs,

    get backend() {
      return backend;
    },

    init(kind) {
      return enqueue(async () => {
        backendKind = kind;
        backend = undefined;
        loads.clear();
        // Nothing is loaded any more, so bringing the backend up is all a restore does.
        const s = slot ?? (slot = startWorker(false));
        await restore(s, 'starting the backend');
        return backend!;
      });
    },

    async load(request, options) {
      // The caller's buffers stay untouched (and are kept, not copied, for a reload after a
      // device loss or on a fresh worker); the worker gets its own copy.
      const r = await jobs.load(request, options);
      loads.set(request.key ?? DEFAULT_MODEL_KEY, request);
      return r;
    },

    async loadHub(request, options) {
      const r = await jobs.loadHub(request, options);
      loads.set(request.key ?? DEFAULT_MODEL_KEY, { hub: request });
      return r;
    },

    unload(key) {
      return job(undefined, async (remote) => {
        loads.delete(key);
        await remote.unload(key);
      });
    },

    generate(request, options = {}) {
      // A job re-run after a device loss streams the same (seeded) tokens again: pass each once.
      const { onProgress } = options;
      let delivered = 0;
      const once = (t: GeneratedToken) => {
        if (t.index < delivered) return;
        delivered = t.index + 1;
        onProgress?.(t);
      };
      return jobs.generate(request, { ...options, onProgress: onProgress && once });
    },

    saeTrain(request, options = {}) {
      // A job re-run after a device loss trains again from step 0: pass each curve point once.
      const { onProgress } = options;
      let nextStep = 0;
      const once = (p: SaeTrainProgress) => {
        if (p.phase === 'train') {
          if (p.point.step < nextStep) return;
          nextStep = p.point.step + 1;
        } else if (nextStep > 0) return;
        onProgress?.(p);
      };
      return jobs.saeTrain(request, { ...options, onProgress: onProgress && once });
    },

    dispose() {
      disposed = true;
      slot?.kill(new Error('the runtime client was disposed'));
    },
  };
}
