/**
 * The main thread's handle on the runtime worker: typed methods that take an AbortSignal and
 * progress callbacks, decode Arrow IPC bytes into tables, keep error classes, and recover from a
 * lost GPU device (the interrupted job re-runs once) and from a crashed worker (its calls fail at
 * once with WorkerCrashedError; the next job starts a fresh worker). Imports from the worker module
 * are types only; all compute stays in the worker.
 *
 * @example
 * const rt = createRuntimeClient();
 * await rt.init('webgpu');
 * await rt.load({ files: [{ name: 'stories260K.bin', bytes }, { name: 'tok512.bin', bytes: tokBytes }] });
 * const top = await rt.nextToken('Once upon a time', { topK: 10, signal });
 */
import { spawnRuntimeWorker } from './spawn-runtime-worker';
import { proxy, transfer, wrap, type Endpoint, type Remote } from 'comlink';
import { tableFromIPC, type Table } from 'apache-arrow';
import { DeviceLostError } from '../kernels/backend';
import type { NextTokenTypes, TokenLossTypes } from '../runtime/tables';
import { installErrorTransfer } from './error-transfer';
import type { RuntimeApi } from './runtime.worker';
import type { InspectRequest } from './inspect';
import type { HubLoadedModel, HubLoadProgress, HubLoadRequest } from './hub-types';
import type { MaskJobRequest, ProbeJobRequest, SweepJobRequest } from './attention-jobs';
import type { MaskJobSummary, ProbeJobSummary, SweepJobSummary } from './runtime-types';
import type { MoeRoutingRequest } from './moe-jobs';
import type { MoeRoutingSummary } from './runtime-types';
import type { PruningMaskRequest, PruningPointRequest, PruningSweepRequest } from './pruning-jobs';
import type {
  FeatureCard,
  SaeBrowseRequest,
  SaeBrowseSummary,
  SaeImportRequest,
  SaeRef,
  SaeSteerRequest,
  SaeTrainProgress,
  SaeTrainRequest,
} from './sae-jobs';
import type { SaeJobBytes } from './runtime-api';
import type { SaeHubRequest } from './sae-hub';
import type { PromptToken } from '../analyses/sae/features';
import type {
  PruningExportFiles,
  PruningMaskSummary,
  PruningProgress,
  PruningSweepSummary,
} from './runtime-types';
import type {
  BackendInfo,
  BackendKind,
  GeneratedToken,
  GenerateRequest,
  GenerateSummary,
  InspectSummary,
  JobProgress,
  LoadedModel,
  LoadRequest,
  LossSummary,
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

export interface JobOptions {
  signal?: AbortSignal;
  /** Key of the model to use (see `LoadRequest.key`); default `default`. */
  model?: string;
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

/** Typed client of the runtime worker. */
export interface RuntimeClient {
  /** Create the backend inside the worker (WebGPU acquires its device there). */
  init(kind: BackendKind): Promise<BackendInfo>;
  /**
   * Parse and upload a model. The worker gets a copy; the given buffers are kept (so do not
   * mutate them) to reload the model after a device loss.
   */
  load(request: LoadRequest): Promise<LoadedModel>;
  /**
   * Load a model from the Hugging Face hub in the worker (workers/hub-load.ts), with progress
   * (bytes, rate, time left). The signal aborts the transfer at once; the model kept under the key
   * before stays loaded unless the new one loads.
   */
  loadHub(
    request: HubLoadRequest,
    options?: Pick<JobOptions, 'signal'> & { onProgress?: (p: HubLoadProgress) => void },
  ): Promise<HubLoadedModel>;
  /** Free a loaded model. */
  unload(key: string): Promise<void>;
  /** Top-k next-token distribution after `text` (BOS + text). */
  nextToken(text: string, options?: JobOptions & { topK?: number }): Promise<Table<NextTokenTypes>>;
  /**
   * Logits [T, vocab] of BOS + `text`, and the activations at the hook points in `capture`
   * (read with `readTensorTable`).
   */
  forward(
    text: string,
    options?: JobOptions & { capture?: readonly string[] },
  ): Promise<{ logits: Table; activations: Record<string, Table> }>;
  /** Model view of BOS + `text`: IPC bytes of the token-loss, next-token and pattern tables. */
  inspect(
    request: InspectRequest,
    options?: JobOptions,
  ): Promise<{ tokens: Uint8Array; next: Uint8Array; pattern: Uint8Array } & InspectSummary>;
  /** Per-token loss of BOS + `text`. */
  tokenLoss(text: string, options?: JobOptions): Promise<Table<TokenLossTypes>>;
  /** Mean loss over a text (split on `<|endoftext|>`, windows of seq_len). */
  loss(
    text: string,
    options?: JobOptions & { onProgress?: (p: JobProgress) => void; fileName?: string },
  ): Promise<LossSummary>;
  /** Stream a continuation of `request.prompt`. */
  generate(
    request: GenerateRequest,
    options?: JobOptions & { onToken?: (t: GeneratedToken) => void },
  ): Promise<GenerateSummary>;
  /** Attention probes of every head over a text: IPC bytes of the heads and positions tables. */
  attentionProbes(
    request: ProbeJobRequest,
    options?: JobOptions & { onProgress?: (p: JobProgress) => void },
  ): Promise<{ heads: Uint8Array; positions: Uint8Array; summary: ProbeJobSummary }>;
  /** One mask family on one document's layer: IPC bytes of pattern, mask, heads and tokens tables. */
  attentionMask(
    request: MaskJobRequest,
    options?: JobOptions,
  ): Promise<{
    pattern: Uint8Array;
    mask: Uint8Array;
    heads: Uint8Array;
    tokens: Uint8Array;
    summary: MaskJobSummary;
  }>;
  /**
   * Mask sweep over families × budgets: IPC bytes of the curves table and of the per-head table,
   * and the dense loss.
   */
  attentionSweep(
    request: SweepJobRequest,
    options?: JobOptions & { onProgress?: (p: JobProgress) => void },
  ): Promise<{ points: Uint8Array; heads: Uint8Array; summary: SweepJobSummary }>;
  /**
   * MoE routing over one text per domain: IPC bytes of the usage, layers and load tables and the
   * routing summary (load, router entropy, specialisation per layer).
   */
  moeRouting(
    request: MoeRoutingRequest,
    options?: JobOptions & { onProgress?: (p: JobProgress) => void },
  ): Promise<{ usage: Uint8Array; layers: Uint8Array; load: Uint8Array; summary: MoeRoutingSummary }>;
  /**
   * Pruning sweep over methods × patterns × sparsities: IPC bytes of the points and layers tables
   * and a summary; the worker keeps the pruned variants under `request.cellId`.
   */
  pruningSweep(
    request: PruningSweepRequest,
    options?: JobOptions & { onProgress?: (p: PruningProgress) => void },
  ): Promise<{ points: Uint8Array; layers: Uint8Array; summary: PruningSweepSummary }>;
  /** One matrix of a kept pruning point: IPC bytes of the dense, mask and pruned tensor tables. */
  pruningMask(
    request: PruningMaskRequest,
    options?: Pick<JobOptions, 'signal'>,
  ): Promise<{ dense: Uint8Array; mask: Uint8Array; pruned: Uint8Array; summary: PruningMaskSummary }>;
  /** The exported files of a kept pruning point. */
  pruningExport(
    request: PruningPointRequest,
    options?: Pick<JobOptions, 'signal'>,
  ): Promise<PruningExportFiles>;
  /**
   * Train an SAE; `waitIfPaused` is awaited (in the worker, over the port) before every step, so
   * keeping it pending pauses training.
   */
  saeTrain(
    request: SaeTrainRequest,
    options?: JobOptions & {
      onProgress?: (p: SaeTrainProgress) => void;
      waitIfPaused?: () => Promise<void>;
    },
  ): Promise<SaeJobBytes>;
  /** Import SAELens files (or restore a kept result's files) and evaluate them. */
  saeImport(request: SaeImportRequest, options?: JobOptions): Promise<SaeJobBytes>;
  /**
   * Open a pretrained SAE from the hub by id or release (workers/sae-hub.ts) with the download's
   * progress; the signal aborts the transfer at once.
   */
  saeHub(
    request: SaeHubRequest,
    options?: JobOptions & { onProgress?: (p: HubLoadProgress) => void },
  ): Promise<SaeJobBytes>;
  /** Feature list of a kept SAE over a text (IPC bytes of FEATURE_LIST_SCHEMA). */
  saeBrowse(
    request: SaeBrowseRequest,
    options?: Pick<JobOptions, 'signal'> & { onProgress?: (p: JobProgress) => void },
  ): Promise<{ list: Uint8Array; summary: SaeBrowseSummary }>;
  /** One feature's card: contexts, histogram, logit effects, nearest features. */
  saeFeature(
    request: SaeRef & { feature: number },
    options?: Pick<JobOptions, 'signal'>,
  ): Promise<FeatureCard>;
  /** Features active on each token of a prompt. */
  saePrompt(
    request: SaeRef & { prompt: string; top?: number },
    options?: Pick<JobOptions, 'signal'>,
  ): Promise<PromptToken[]>;
  /** Greedy continuation with and without steering / clamping a feature. */
  saeSteer(
    request: SaeSteerRequest,
    options?: Pick<JobOptions, 'signal'>,
  ): Promise<{ baseline: string; steered: string }>;
  /** Loss with one feature zero-ablated against the clean loss. */
  saeAblate(
    request: SaeRef & { feature: number; text: string; fileName?: string; maxWindows?: number },
    options?: Pick<JobOptions, 'signal'>,
  ): Promise<{ lossClean: number; lossAblated: number; delta: number; fired: number; tokens: number }>;
  /** The backend the worker runs on now, if initialised. */
  readonly backend: BackendInfo | undefined;
  /** Terminate the worker. */
  dispose(): void;
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

  /** A copy of the bytes, moved (not cloned) to the worker, which keeps views into them. */
  const sendable = (r: LoadRequest): LoadRequest => {
    const files = r.files.map((f) => ({ name: f.name, bytes: f.bytes.slice(0) }));
    return transfer(
      { ...r, files },
      files.map((f) => f.bytes),
    );
  };

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
        if ('hub' in request) await s.api.loadHub(nextJobId++, request.hub);
        else await s.api.load(sendable(request));
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

  return {
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

    load(request) {
      // The caller's buffers stay untouched (and are kept, not copied, for a reload after a
      // device loss); the worker gets its own copy.
      return job(undefined, async (remote) => {
        const loaded = await remote.load(sendable(request));
        loads.set(loaded.key, request);
        return loaded;
      });
    },

    loadHub(request, { signal, onProgress } = {}) {
      return job(signal, async (remote, id) => {
        const loaded = await remote.loadHub(id, request, onProgress ? proxy(onProgress) : undefined);
        loads.set(loaded.key, { hub: request });
        return loaded;
      });
    },

    unload(key) {
      return job(undefined, async (remote) => {
        loads.delete(key);
        await remote.unload(key);
      });
    },

    nextToken(text, { signal, topK = 10, model } = {}) {
      return job(signal, async (remote, id) =>
        tableFromIPC<NextTokenTypes>(await remote.nextToken(id, text, topK, model)),
      );
    },

    forward(text, { signal, capture = [], model } = {}) {
      return job(signal, async (remote, id) => {
        const r = await remote.forward(id, text, [...capture], model);
        const activations: Record<string, Table> = {};
        for (const [name, bytes] of Object.entries(r.activations)) activations[name] = tableFromIPC(bytes);
        return { logits: tableFromIPC(r.logits), activations };
      });
    },

    inspect(request, { signal, model } = {}) {
      return job(signal, (remote, id) => remote.inspect(id, request, model));
    },

    tokenLoss(text, { signal, model } = {}) {
      return job(signal, async (remote, id) =>
        tableFromIPC<TokenLossTypes>(await remote.tokenLoss(id, text, model)),
      );
    },

    loss(text, { signal, onProgress, fileName, model } = {}) {
      return job(signal, async (remote, id) => {
        return remote.loss(id, text, onProgress ? proxy(onProgress) : undefined, fileName, model);
      });
    },

    generate(request, { signal, onToken, model } = {}) {
      // A job re-run after a device loss streams the same (seeded) tokens again: pass each once.
      let delivered = 0;
      const once = onToken
        ? (t: GeneratedToken) => {
            if (t.index < delivered) return;
            delivered = t.index + 1;
            onToken(t);
          }
        : undefined;
      return job(signal, (remote, id) => remote.generate(id, request, once ? proxy(once) : undefined, model));
    },

    attentionProbes(request, { signal, onProgress, model } = {}) {
      return job(signal, (remote, id) =>
        remote.attentionProbes(id, request, onProgress ? proxy(onProgress) : undefined, model),
      );
    },

    attentionMask(request, { signal, model } = {}) {
      return job(signal, (remote, id) => remote.attentionMask(id, request, model));
    },

    attentionSweep(request, { signal, onProgress, model } = {}) {
      return job(signal, (remote, id) =>
        remote.attentionSweep(id, request, onProgress ? proxy(onProgress) : undefined, model),
      );
    },

    moeRouting(request, { signal, onProgress, model } = {}) {
      return job(signal, (remote, id) =>
        remote.moeRouting(id, request, onProgress ? proxy(onProgress) : undefined, model),
      );
    },

    pruningSweep(request, { signal, onProgress, model } = {}) {
      return job(signal, (remote, id) =>
        remote.pruningSweep(id, request, onProgress ? proxy(onProgress) : undefined, model),
      );
    },

    pruningMask(request, { signal } = {}) {
      return job(signal, (remote, id) => remote.pruningMask(id, request));
    },

    pruningExport(request, { signal } = {}) {
      return job(signal, (remote, id) => remote.pruningExport(id, request));
    },

    saeTrain(request, { signal, onProgress, waitIfPaused, model } = {}) {
      // A job re-run after a device loss trains again from step 0: pass each curve point once.
      let nextStep = 0;
      const once = onProgress
        ? (p: SaeTrainProgress) => {
            if (p.phase === 'train') {
              if (p.point.step < nextStep) return;
              nextStep = p.point.step + 1;
            } else if (nextStep > 0) return;
            onProgress(p);
          }
        : undefined;
      return job(signal, (remote, id) =>
        remote.saeTrain(
          id,
          request,
          once ? proxy(once) : undefined,
          waitIfPaused ? proxy(waitIfPaused) : undefined,
          model,
        ),
      );
    },

    saeImport(request, { signal, model } = {}) {
      return job(signal, (remote, id) => remote.saeImport(id, request, model));
    },

    saeHub(request, { signal, onProgress, model } = {}) {
      return job(signal, (remote, id) =>
        remote.saeHub(id, request, onProgress ? proxy(onProgress) : undefined, model),
      );
    },

    saeBrowse(request, { signal, onProgress } = {}) {
      return job(signal, (remote, id) =>
        remote.saeBrowse(id, request, onProgress ? proxy(onProgress) : undefined),
      );
    },

    saeFeature(request, { signal } = {}) {
      return job(signal, (remote, id) => remote.saeFeature(id, request));
    },

    saePrompt(request, { signal } = {}) {
      return job(signal, (remote, id) => remote.saePrompt(id, request));
    },

    saeSteer(request, { signal } = {}) {
      return job(signal, (remote, id) => remote.saeSteer(id, request));
    },

    saeAblate(request, { signal } = {}) {
      return job(signal, (remote, id) => remote.saeAblate(id, request));
    },

    dispose() {
      disposed = true;
      slot?.kill(new Error('the runtime client was disposed'));
    },
  };
}
