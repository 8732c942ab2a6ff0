/**
 * The main thread's handle on the runtime worker: typed methods that take an AbortSignal and
 * progress callbacks, decode Arrow IPC bytes into tables, keep error classes, and recover from a
 * lost GPU device. Imports from the worker module are types only; all compute stays in the worker.
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
}

export interface JobOptions {
  signal?: AbortSignal;
  /** Key of the model to use (see `LoadRequest.key`); default `default`. */
  model?: string;
}

/** Message of the error thrown after a lost device was recovered. */
export const DEVICE_LOST_RELOADED = 'GPU device lost — model reloaded, run again';

/** Typed client of the runtime worker. */
export interface RuntimeClient {
  /** Create the backend inside the worker (WebGPU acquires its device there). */
  init(kind: BackendKind): Promise<BackendInfo>;
  /**
   * Parse and upload a model. The worker gets a copy; the given buffers are kept (so do not
   * mutate them) to reload the model after a device loss.
   */
  load(request: LoadRequest): Promise<LoadedModel>;
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
  let worker = spawn();
  let api: Remote<RuntimeApi> = wrap<RuntimeApi>(worker);
  let backendKind: BackendKind | undefined;
  let backend: BackendInfo | undefined;
  /** Every loaded model's request by key, to reload them on a fresh worker or device. */
  const loads = new Map<string, LoadRequest>();
  let nextJobId = 1;
  // Jobs run one at a time: each waits for the previous one to settle in the worker (a cancelled
  // job is rejected at once on this side but may need a moment to reach its next checkpoint).
  let tail: Promise<unknown> = Promise.resolve();
  let disposed = false;

  /** A copy of the bytes, moved (not cloned) to the worker, which keeps views into them. */
  const sendable = (r: LoadRequest): LoadRequest => {
    const files = r.files.map((f) => ({ name: f.name, bytes: f.bytes.slice(0) }));
    return transfer(
      { ...r, files },
      files.map((f) => f.bytes),
    );
  };

  /** Bring a fresh backend (and every loaded model) up in the current worker. */
  async function restore(): Promise<void> {
    if (!backendKind) return;
    backend = await api.init(backendKind);
    for (const request of loads.values()) await api.load(sendable(request));
  }

  /** Replace a worker that is stuck (a cancelled job that does not stop) with a fresh one. */
  function restartWorker(): Promise<void> {
    worker.terminate();
    worker = spawn();
    api = wrap<RuntimeApi>(worker);
    return restore();
  }

  function enqueue<T>(run: () => Promise<T>): Promise<T> {
    const result = tail.then(run);
    tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Run one job: wait for the worker to be free, start it, and reject with an AbortError as soon
   * as the signal fires. The worker is told to stop; if the job has not settled within the grace
   * period, the worker is restarted so the next job is not stuck behind it. A DeviceLostError
   * triggers recovery before it reaches the caller.
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
          if (aborted) return;
          const jobId = nextJobId++;
          const call = start(api, jobId).then(
            (value): Outcome<T> => ({ ok: true, value }),
            (error: unknown): Outcome<T> => ({ ok: false, error }),
          );
          let onRestarted = () => {};
          const restarted = new Promise<Outcome<T>>((done) => {
            onRestarted = () => done({ ok: false, error: abortError() });
          });
          cancelRunning = () => {
            void api.cancel(jobId).catch(() => undefined);
            const timer = setTimeout(
              () =>
                void restartWorker()
                  .catch(() => undefined)
                  .finally(onRestarted),
              graceMs,
            );
            void call.then(() => clearTimeout(timer));
          };
          const outcome = await Promise.race([call, restarted]);
          if (outcome.ok) resolve(outcome.value);
          else if (outcome.error instanceof DeviceLostError)
            reject(await recoverFromDeviceLoss(outcome.error));
          else reject(outcome.error);
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      });
    });
  }

  async function recoverFromDeviceLoss(e: DeviceLostError): Promise<Error> {
    try {
      await restore();
    } catch (reloadError) {
      const why = reloadError instanceof Error ? reloadError.message : String(reloadError);
      return new DeviceLostError(e.reason, `GPU device lost and the model could not be reloaded: ${why}`);
    }
    return new DeviceLostError(e.reason, DEVICE_LOST_RELOADED);
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
        backend = await api.init(kind);
        return backend;
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
      return job(signal, (remote, id) =>
        remote.generate(id, request, onToken ? proxy(onToken) : undefined, model),
      );
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
      return job(signal, (remote, id) =>
        remote.saeTrain(
          id,
          request,
          onProgress ? proxy(onProgress) : undefined,
          waitIfPaused ? proxy(waitIfPaused) : undefined,
          model,
        ),
      );
    },

    saeImport(request, { signal, model } = {}) {
      return job(signal, (remote, id) => remote.saeImport(id, request, model));
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
      worker.terminate();
    },
  };
}
