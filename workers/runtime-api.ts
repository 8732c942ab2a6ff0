/**
 * The runtime worker's API as a plain object, so it can run behind comlink in a Web Worker
 * (runtime.worker.ts) and, in tests, behind a MessageChannel in Node with the CPU backend.
 *
 * Jobs are identified by a caller-chosen `jobId`; `cancel(jobId)` aborts that job's signal and the
 * runtime stops at its next checkpoint (between windows / tokens), rejecting with an AbortError.
 * Tables leave as Arrow IPC bytes in the transfer list, never as structured-cloned objects.
 */
import { releaseProxy, transfer } from 'comlink';
import { tableToIPC, type Table } from 'apache-arrow';
import { createCpuBackend, createWebGpuBackend, type Backend } from '../kernels/index';
import {
  evaluateLoss,
  generate,
  perTokenLoss,
  TextError,
  type LlamaModel,
  type Tokenizer,
  type ModelInfo,
} from '../runtime/index';
import { formatCount } from '../runtime/errors';
import { nextTokenTable, tokenLossTable } from '../runtime/tables';
import { tensorTable } from '../runtime/tensor-table';
import { listHookPoints, readIndices, type Hook, type IndexHook } from '../runtime/hooks';
import { loadFiles } from './model-files';
import { loadFromHub } from './hub-load';
import type { HubLoadedModel, HubLoadProgress, HubLoadRequest } from './hub-types';
import { runtimeMemoryStats, type RuntimeMemoryStats } from './memory-stats';
import { topKDistribution } from './next-token';
import { tokenText } from './token-text';
import { inspect, type InspectRequest } from './inspect';
import {
  maskJob,
  probeJob,
  sweepJob,
  type MaskJobRequest,
  type ProbeJobRequest,
  type SweepJobRequest,
} from './attention-jobs';
import type { MaskJobSummary, ProbeJobSummary, SweepJobSummary } from './runtime-types';
import { moeRoutingJob, type MoeRoutingRequest } from './moe-jobs';
import type { MoeRoutingSummary } from './runtime-types';
import {
  pruningExportJob,
  pruningMaskJob,
  pruningSweepJob,
  PruningStore,
  type PruningMaskRequest,
  type PruningPointRequest,
  type PruningSweepRequest,
} from './pruning-jobs';
import type {
  PruningExportFiles,
  PruningMaskSummary,
  PruningProgress,
  PruningSweepSummary,
} from './runtime-types';
import type { InspectSummary } from './runtime-types';
import {
  saeAblateJob,
  saeBrowseJob,
  saeFeatureJob,
  saeImportJob,
  saePromptJob,
  SaeStore,
  saeSteerJob,
  saeTrainJob,
  type SaeBrowseRequest,
  type SaeImportRequest,
  type SaeJobResult,
  type SaeRef,
  type SaeSteerRequest,
  type SaeTrainProgress,
  type SaeTrainRequest,
} from './sae-jobs';
import { saeHubJob, type SaeHubRequest } from './sae-hub';
import type { HubCache } from '../runtime/sources/hub-cache';
import { hasOpfs, opfsHubCache } from '../runtime/sources/opfs-hub-cache';
import {
  DEFAULT_MODEL_KEY,
  type BackendInfo,
  type BackendKind,
  type GeneratedToken,
  type GenerateRequest,
  type GenerateSummary,
  type JobProgress,
  type LoadedModel,
  type LoadRequest,
  type LossSummary,
} from './runtime-types';

/**
 * A callback as the worker receives it: a comlink proxy (its calls return promises that settle
 * once the client has run it) when remote, a plain function when local.
 */
type Callback<A> = (arg: A) => unknown;

interface Loaded {
  model: LlamaModel;
  tokenizer: Tokenizer;
  info: ModelInfo;
  modelName: string;
}

/** Most models one worker keeps loaded at once (each holds its weights on the backend). */
export const MAX_MODELS = 8;

/** Largest `topK` accepted (the table is small; a whole 32k vocabulary is not). */
export const MAX_TOP_K = 1000;

/** Create the API object (`expose` it, or call it directly in tests). */
export function createRuntimeApi(
  options: {
    createBackend?: (kind: BackendKind) => Promise<Backend>;
    /** Where hub files are cached (default: the browser's OPFS where there is one, else none). */
    hubCache?: () => HubCache | null;
  } = {},
) {
  const hubCache = options.hubCache ?? (() => (hasOpfs() ? opfsHubCache() : null));
  const makeBackend =
    options.createBackend ??
    ((kind: BackendKind): Promise<Backend> =>
      kind === 'webgpu' ? createWebGpuBackend() : Promise.resolve(createCpuBackend()));
  let backend: Backend | undefined;
  const models = new Map<string, Loaded>();
  const jobs = new Map<number, AbortController>();
  /** Pruning sweeps' variants, kept per cell for the view's masks and exports. */
  const pruning = new PruningStore();
  /** SAEs trained or imported by SAE cells, kept per cell for the feature views. */
  const saes = new SaeStore();

  function requireModel(key: string): Loaded {
    const l = models.get(key);
    if (!l) {
      const have = [...models.keys()].join(', ') || 'none';
      throw new Error(`no model loaded under '${key}' (loaded: ${have}); call load() first`);
    }
    return l;
  }

  /** Run `fn` with a fresh AbortController registered under `jobId`. */
  async function runJob<T>(jobId: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (jobs.has(jobId)) throw new Error(`job ${jobId} is already running`);
    const controller = new AbortController();
    jobs.set(jobId, controller);
    try {
      const result = await fn(controller.signal);
      controller.signal.throwIfAborted();
      return result;
    } finally {
      jobs.delete(jobId);
    }
  }

  /** Encode a prompt (BOS first) and refuse one longer than the model's context. */
  function encodePrompt(l: Loaded, text: string): Int32Array {
    const tokens = l.tokenizer.encode(text, { bos: true, source: 'prompt' });
    if (tokens.length > l.info.seqLen) {
      throw new TextError(
        'prompt',
        `${formatCount(tokens.length)} tokens (BOS included) do not fit the model's context of ${formatCount(l.info.seqLen)} tokens; shorten it`,
      );
    }
    return tokens;
  }

  function ipc(table: Table): Uint8Array {
    const bytes = tableToIPC(table, 'stream');
    return transfer(bytes, [bytes.buffer]);
  }

  const api = {
    /**
     * Create the backend inside the worker (WebGPU acquires its device here). Replaces any previous
     * backend and drops the loaded model.
     * @throws WebGpuUnavailableError when WebGPU is asked for and no adapter exists (no fallback).
     */
    async init(kind: BackendKind): Promise<BackendInfo> {
      if (kind !== 'cpu' && kind !== 'webgpu') throw new Error(`unknown backend: ${String(kind)}`);
      for (const c of jobs.values()) c.abort(new DOMException('backend replaced', 'AbortError'));
      dropModels();
      backend?.destroy();
      backend = undefined;
      backend = await makeBackend(kind);
      return { kind: backend.kind, description: backend.description };
    },

    /**
     * Parse a model and tokenizer and upload the weights under `request.key`, replacing the model
     * kept there (which stays if this one fails).
     * @throws ModelFormatError / TokenizerError / CompatibilityError naming the file.
     */
    async load(request: LoadRequest): Promise<LoadedModel> {
      if (!backend) throw new Error('no backend: call init() first');
      const key = request.key ?? DEFAULT_MODEL_KEY;
      if (!models.has(key) && models.size >= MAX_MODELS) {
        throw new RangeError(`at most ${MAX_MODELS} models can be loaded at once; unload one first`);
      }
      const t0 = performance.now();
      // Parse and upload before dropping the current model: a bad file (or a GPU error while
      // uploading, which sync() reports) must not cost the user the good one.
      const next = loadFiles(backend, request.files);
      try {
        await backend.sync();
      } catch (e) {
        next.model.dispose();
        throw e;
      }
      unload(key);
      models.set(key, next);
      return {
        shape: { ...next.info },
        backend: { kind: backend.kind, description: backend.description },
        key,
        modelName: next.modelName,
        tokenizerName: next.tokenizerName,
        loadMs: performance.now() - t0,
      };
    },

    /**
     * Load `hf:ORG/NAME[@REV]` from the hub (workers/hub-load.ts) under `request.key`, tensor by
     * tensor with progress; the model kept there is replaced only once the new one is up, so a
     * cancel (which aborts every request at once) or a failure leaves it loaded.
     * @throws HubFetchError / ModelFormatError / HubMemoryError naming the file or the numbers.
     */
    loadHub(
      jobId: number,
      request: HubLoadRequest,
      onProgress?: Callback<HubLoadProgress>,
    ): Promise<HubLoadedModel> {
      return runJob(jobId, async (signal) => {
        if (!backend) throw new Error('no backend: call init() first');
        const b = backend;
        const key = request.key ?? DEFAULT_MODEL_KEY;
        if (!models.has(key) && models.size >= MAX_MODELS) {
          throw new RangeError(`at most ${MAX_MODELS} models can be loaded at once; unload one first`);
        }
        const progress = new Delivery(onProgress);
        try {
          const t0 = performance.now();
          const cache = request.cache === false ? null : hubCache();
          const next = await loadFromHub(b, request, { signal, cache, onProgress: (p) => progress.send(p) });
          try {
            await b.sync();
            signal.throwIfAborted();
          } catch (e) {
            next.model.dispose();
            throw e;
          }
          unload(key);
          models.set(key, next);
          await progress.flushed();
          const { id, repo, revision, files, notes, weightBytes, downloadedBytes } = next;
          return {
            shape: { ...next.info },
            backend: { kind: b.kind, description: b.description },
            key,
            modelName: next.modelName,
            tokenizerName: next.tokenizerName,
            loadMs: performance.now() - t0,
            hub: { id, repo, revision, files, notes, weightBytes, downloadedBytes },
          };
        } finally {
          progress.release();
        }
      });
    },

    /** Free the model kept under `key` (no-op when there is none). */
    unload(key: string): void {
      unload(key);
    },

    /** Top-k next-token distribution after BOS + `text`, as Arrow IPC bytes (NEXT_TOKEN_SCHEMA). */
    nextToken(jobId: number, text: string, topK: number, modelKey = DEFAULT_MODEL_KEY): Promise<Uint8Array> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        if (!Number.isInteger(topK) || topK < 1 || topK > Math.min(MAX_TOP_K, l.info.vocabSize)) {
          throw new RangeError(
            `topK must be an integer in [1, ${Math.min(MAX_TOP_K, l.info.vocabSize)}], got ${topK}`,
          );
        }
        const tokens = encodePrompt(l, text);
        signal.throwIfAborted();
        const logits = await l.model.forward(tokens);
        let all: Float32Array;
        try {
          all = await l.model.backend.read(logits);
        } finally {
          l.model.backend.dispose(logits);
        }
        const V = l.info.vocabSize;
        const top = topKDistribution(all.subarray((tokens.length - 1) * V, tokens.length * V), topK);
        const prev = tokens[tokens.length - 1]!;
        return ipc(
          nextTokenTable({
            ...top,
            tokens: Array.from(top.tokenIds, (id) => tokenText(l.tokenizer, prev, id)),
          }),
        );
      });
    },

    /**
     * Full forward pass of BOS + `text`: the logits [T, vocab] and the activations at the hook points
     * named in `capture` (e.g. `blocks.2.hook_resid_post`, `blocks.0.attn.hook_pattern`), each as
     * Arrow IPC bytes of a tensor table (runtime/tensor-table.ts).
     */
    forward(
      jobId: number,
      text: string,
      capture: readonly string[] = [],
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<{ logits: Uint8Array; activations: Record<string, Uint8Array> }> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const known = new Set(listHookPoints(l.model.config));
        for (const name of capture) {
          if (!known.has(name)) throw new RangeError(`unknown hook point '${name}' (see listHookPoints)`);
        }
        const tokens = encodePrompt(l, text);
        const b = l.model.backend;
        const reads: Promise<[string, readonly number[], Float32Array]>[] = [];
        const hooks: Record<string, Hook | IndexHook> = {};
        // Reads are issued inside the hook (the tensor is freed after it) and awaited afterwards.
        // Index activations (selected experts) travel as float32 too: small integers are exact.
        for (const name of capture) {
          hooks[name] = name.endsWith('.hook_selected_experts')
            ? readIndices(
                (t) => void reads.push(b.read(t).then((d) => [name, t.shape, Float32Array.from(d)])),
              )
            : (t) => void reads.push(b.read(t).then((d) => [name, t.shape, d]));
        }
        signal.throwIfAborted();
        const logits = await l.model.forward(tokens, { hooks });
        let data: Float32Array;
        try {
          data = await b.read(logits);
        } finally {
          b.dispose(logits);
        }
        const activations: Record<string, Uint8Array> = {};
        for (const [name, shape, values] of await Promise.all(reads)) {
          activations[name] = ipc(tensorTable(name, shape, values));
        }
        return { logits: ipc(tensorTable('logits', logits.shape, data)), activations };
      });
    },

    /**
     * One forward pass of BOS + `text` (cut to the context) for the model view: per-token loss,
     * next-token distribution after `request.position`, and `request.layer`'s attention pattern.
     */
    inspect(
      jobId: number,
      request: InspectRequest,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<{ tokens: Uint8Array; next: Uint8Array; pattern: Uint8Array } & InspectSummary> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const r = await inspect(l.model, l.tokenizer, request, signal);
        return {
          tokens: ipc(r.tokens),
          next: ipc(r.next),
          pattern: ipc(r.pattern),
          position: r.position,
          truncated: r.truncated,
          totalTokens: r.totalTokens,
        };
      });
    },

    /** Per-token loss of BOS + `text`, as Arrow IPC bytes (TOKEN_LOSS_SCHEMA). */
    tokenLoss(jobId: number, text: string, modelKey = DEFAULT_MODEL_KEY): Promise<Uint8Array> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const tokens = l.tokenizer.encode(text, { bos: true, source: 'prompt' });
        const losses = await perTokenLoss(l.model, tokens, { signal });
        const texts = Array.from(tokens, (t, i) =>
          tokenText(l.tokenizer, i > 0 ? tokens[i - 1]! : l.tokenizer.documentToken, t),
        );
        return ipc(tokenLossTable({ tokenIds: tokens, tokens: texts, losses }));
      });
    },

    /** Mean loss over a text, reporting progress per window. */
    loss(
      jobId: number,
      text: string,
      onProgress?: Callback<JobProgress>,
      fileName = 'text',
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<LossSummary> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const t0 = performance.now();
        const progress = new Delivery(onProgress);
        try {
          const r = await evaluateLoss(l.model, l.tokenizer, text, {
            signal,
            fileName,
            onProgress: (p) => progress.send({ done: p.done, total: p.total }),
          });
          await progress.flushed();
          return {
            loss: r.loss,
            perplexity: r.perplexity,
            targets: r.tokens,
            documents: r.documents,
            ms: performance.now() - t0,
          };
        } finally {
          progress.release();
        }
      });
    },

    /** Generate up to `steps` new tokens after the prompt, streaming each to `onToken`. */
    generate(
      jobId: number,
      request: GenerateRequest,
      onToken?: Callback<GeneratedToken>,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<GenerateSummary> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const { prompt, steps, temperature, seed } = request;
        if (!Number.isInteger(steps) || steps < 1)
          throw new RangeError(`steps must be a positive integer, got ${steps}`);
        if (!(temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${temperature}`);
        if (!Number.isInteger(seed) || seed < 1)
          throw new RangeError(`seed must be a positive integer, got ${seed}`);
        const promptLength = encodePrompt(l, prompt).length;
        // The runtime counts positions as run.c's -n does (prompt included, the last sampled token
        // is never fed back): P prompt tokens and N new ones use P - 1 + N positions.
        const positions = Math.min(promptLength - 1 + steps, l.info.seqLen);
        const t0 = performance.now();
        const tokens = new Delivery(onToken);
        let index = 0;
        try {
          const r = await generate(l.model, l.tokenizer, {
            prompt,
            steps: positions,
            temperature,
            seed,
            signal,
            onToken: (tokenId, text) => tokens.send({ index: index++, tokenId, text }),
          });
          await tokens.flushed();
          const generated = r.tokens.length - r.promptLength;
          return {
            text: r.text,
            tokens: generated,
            ms: performance.now() - t0,
            stop: r.stoppedAtBos ? 'bos' : generated < steps ? 'context' : 'steps',
          };
        } finally {
          tokens.release();
        }
      });
    },

    /**
     * Attention probes of every head over the first windows of a text (attention-jobs.ts), with
     * progress per window: heads (HEAD_PROBE_COLUMNS) and positions (POSITION_PROBE_COLUMNS) as IPC.
     */
    attentionProbes(
      jobId: number,
      request: ProbeJobRequest,
      onProgress?: Callback<JobProgress>,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<{ heads: Uint8Array; positions: Uint8Array; summary: ProbeJobSummary }> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const progress = new Delivery(onProgress);
        try {
          const r = await probeJob(l.model, l.tokenizer, request, {
            signal,
            onProgress: (p) => progress.send(p),
          });
          await progress.flushed();
          return { heads: ipc(r.heads), positions: ipc(r.positions), summary: r.summary };
        } finally {
          progress.release();
        }
      });
    },

    /**
     * One mask family on one document's layer (attention-jobs.ts): the chosen head's pattern and
     * mask (tensor tables [T, T]), per-head density / recall (MASK_HEAD_COLUMNS) and token texts.
     */
    attentionMask(
      jobId: number,
      request: MaskJobRequest,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<{
      pattern: Uint8Array;
      mask: Uint8Array;
      heads: Uint8Array;
      tokens: Uint8Array;
      summary: MaskJobSummary;
    }> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const r = await maskJob(l.model, l.tokenizer, request, signal);
        return {
          pattern: ipc(r.pattern),
          mask: ipc(r.mask),
          heads: ipc(r.heads),
          tokens: ipc(r.tokens),
          summary: r.summary,
        };
      });
    },

    /**
     * Mask sweep (attention-jobs.ts): every family × budget, loss with the mask in the forward
     * pass, progress per point; the curves table (SWEEP_COLUMNS) and the per-head table
     * (SWEEP_HEAD_COLUMNS) as IPC.
     */
    attentionSweep(
      jobId: number,
      request: SweepJobRequest,
      onProgress?: Callback<JobProgress>,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<{ points: Uint8Array; heads: Uint8Array; summary: SweepJobSummary }> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const progress = new Delivery(onProgress);
        try {
          const r = await sweepJob(l.model, l.tokenizer, request, {
            signal,
            onProgress: (p) => progress.send(p),
          });
          await progress.flushed();
          return { points: ipc(r.points), heads: ipc(r.heads), summary: r.summary };
        } finally {
          progress.release();
        }
      });
    },

    /**
     * MoE routing over one text per domain (moe-jobs.ts), progress per window: the usage
     * (MOE_USAGE_COLUMNS), layers (MOE_LAYER_COLUMNS) and load (MOE_LOAD_COLUMNS) tables as IPC.
     */
    moeRouting(
      jobId: number,
      request: MoeRoutingRequest,
      onProgress?: Callback<JobProgress>,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<{ usage: Uint8Array; layers: Uint8Array; load: Uint8Array; summary: MoeRoutingSummary }> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const progress = new Delivery(onProgress);
        try {
          const r = await moeRoutingJob(l.model, l.tokenizer, request, {
            modelName: l.modelName,
            signal,
            onProgress: (p) => progress.send(p),
          });
          await progress.flushed();
          return { usage: ipc(r.usage), layers: ipc(r.layers), load: ipc(r.load), summary: r.summary };
        } finally {
          progress.release();
        }
      });
    },

    /**
     * Pruning sweep (pruning-jobs.ts): methods × patterns × sparsities, progress per point; the
     * points (PRUNING_POINT_COLUMNS) and layers (PRUNING_LAYER_COLUMNS) tables as IPC. The pruned
     * variants stay in the worker under `request.cellId` for `pruningMask` and `pruningExport`.
     */
    pruningSweep(
      jobId: number,
      request: PruningSweepRequest,
      onProgress?: Callback<PruningProgress>,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<{ points: Uint8Array; layers: Uint8Array; summary: PruningSweepSummary }> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const progress = new Delivery(onProgress);
        try {
          const r = await pruningSweepJob(l.model, l.tokenizer, pruning, request, {
            signal,
            onProgress: (p) => progress.send(p),
          });
          await progress.flushed();
          return { points: ipc(r.points), layers: ipc(r.layers), summary: r.summary };
        } finally {
          progress.release();
        }
      });
    },

    /**
     * One matrix of a kept pruning point: dense weights, keep mask and pruned values as tensor
     * tables [rows, cols] (no pruning is redone).
     */
    pruningMask(
      jobId: number,
      request: PruningMaskRequest,
    ): Promise<{ dense: Uint8Array; mask: Uint8Array; pruned: Uint8Array; summary: PruningMaskSummary }> {
      return runJob(jobId, async () => {
        const r = await pruningMaskJob(pruning, checkLive(request));
        return { dense: ipc(r.dense), mask: ipc(r.mask), pruned: ipc(r.pruned), summary: r.summary };
      });
    },

    /** The exported files of a kept pruning point (llama2.c, HF safetensors, masks). */
    pruningExport(jobId: number, request: PruningPointRequest): Promise<PruningExportFiles> {
      return runJob(jobId, async () => {
        const f = await pruningExportJob(pruning, checkLive(request));
        const buffers = [f.modelSafetensors.buffer, f.masksSafetensors.buffer];
        return transfer(f, f.modelBin ? [f.modelBin.buffer, ...buffers] : buffers);
      });
    },

    /**
     * Train an SAE (sae-jobs.ts) with a point of the curve per reported step; `waitIfPaused` is the
     * client's pause gate, awaited before every step. The SAE stays under `request.cellId`.
     */
    saeTrain(
      jobId: number,
      request: SaeTrainRequest,
      onProgress?: Callback<SaeTrainProgress>,
      waitIfPaused?: () => Promise<unknown>,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<SaeJobBytes> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const progress = new Delivery(onProgress);
        try {
          const r = await saeTrainJob(l.model, l.tokenizer, saes, l.modelName, request, {
            signal,
            onProgress: (p) => progress.send(p),
            waitIfPaused: waitIfPaused ? async () => void (await waitIfPaused()) : undefined,
          });
          await progress.flushed();
          return saeBytes(r);
        } finally {
          progress.release();
          releaseCallback(waitIfPaused);
        }
      });
    },

    /** Import SAELens files (or restore a kept result's) and keep the SAE under `request.cellId`. */
    saeImport(jobId: number, request: SaeImportRequest, modelKey = DEFAULT_MODEL_KEY): Promise<SaeJobBytes> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        return saeBytes(await saeImportJob(l.model, l.tokenizer, saes, request, { signal }));
      });
    },

    /**
     * Open a pretrained SAE from the hub by id or release (sae-hub.ts), with the download's
     * progress, check it against the model, evaluate it and keep it under `request.cellId`.
     */
    saeHub(
      jobId: number,
      request: SaeHubRequest,
      onProgress?: Callback<HubLoadProgress>,
      modelKey = DEFAULT_MODEL_KEY,
    ): Promise<SaeJobBytes> {
      return runJob(jobId, async (signal) => {
        const l = requireModel(modelKey);
        const progress = new Delivery(onProgress);
        try {
          const r = await saeHubJob(l.model, l.tokenizer, saes, request, {
            signal,
            cache: hubCache(),
            onProgress: (p) => progress.send(p),
          });
          await progress.flushed();
          return saeBytes(r);
        } finally {
          progress.release();
        }
      });
    },

    /** Feature list of a kept SAE over a text (FEATURE_LIST_SCHEMA as IPC). */
    saeBrowse(jobId: number, request: SaeBrowseRequest, onProgress?: Callback<JobProgress>) {
      return runJob(jobId, async (signal) => {
        const progress = new Delivery(onProgress);
        try {
          const r = await saeBrowseJob(tokenizerOf(request), saes, request, {
            signal,
            onProgress: (p) => progress.send(p),
          });
          await progress.flushed();
          return { list: ipc(r.list), summary: r.summary };
        } finally {
          progress.release();
        }
      });
    },

    /** One feature's card (after a browse). */
    saeFeature(jobId: number, request: SaeRef & { feature: number }) {
      return runJob(jobId, () => saeFeatureJob(tokenizerOf(request), saes, request));
    },

    /** Active features on each token of a prompt. */
    saePrompt(jobId: number, request: SaeRef & { prompt: string; top?: number }) {
      return runJob(jobId, () => saePromptJob(tokenizerOf(request), saes, request));
    },

    /** Greedy text with and without steering / clamping a feature. */
    saeSteer(jobId: number, request: SaeSteerRequest) {
      return runJob(jobId, (signal) => saeSteerJob(tokenizerOf(request), saes, request, { signal }));
    },

    /** Loss with a feature zero-ablated against the clean loss. */
    saeAblate(
      jobId: number,
      request: SaeRef & { feature: number; text: string; fileName?: string; maxWindows?: number },
    ) {
      return runJob(jobId, (signal) => saeAblateJob(tokenizerOf(request), saes, request, { signal }));
    },

    /** Abort a running job; unknown or finished ids are ignored. */
    cancel(jobId: number): void {
      jobs.get(jobId)?.abort(new DOMException('cancelled', 'AbortError'));
    },

    /** Read-only memory counters (memory-stats.ts): kept models and results, GPU buffer pool. */
    memory(): RuntimeMemoryStats {
      const counts = { models: models.size, saes: saes.size, pruningSweeps: pruning.size, jobs: jobs.size };
      return runtimeMemoryStats(backend, counts);
    },
  };

  /** The tokenizer of the model a kept SAE was made on (which must still be loaded). */
  function tokenizerOf(ref: SaeRef): Tokenizer {
    const { model } = saes.get(ref);
    const l = [...models.values()].find((m) => m.model === model);
    if (!l) throw new Error('the model of this SAE was unloaded or replaced: run the SAE cell again');
    return l.tokenizer;
  }

  function saeBytes(r: Omit<SaeJobResult, 'files'> & { files?: Table }): SaeJobBytes {
    return {
      summary: r.summary,
      ...(r.files ? { files: ipc(r.files) } : {}),
      ...(r.curve ? { curve: ipc(r.curve) } : {}),
    };
  }

  /** A kept sweep's model must still be loaded (its weights are read back). */
  function checkLive<R extends PruningPointRequest>(request: R): R {
    const { model } = pruning.point(request);
    if (![...models.values()].some((l) => l.model === model))
      throw new Error('the model of this sweep was unloaded or replaced: run the cell again');
    return request;
  }

  function unload(key: string): void {
    const m = models.get(key)?.model;
    if (m) pruning.dropModel(m);
    if (m) saes.dropModel(m);
    m?.dispose();
    models.delete(key);
  }

  function dropModels(): void {
    for (const key of [...models.keys()]) unload(key);
    pruning.clear();
    saes.clear();
  }

  return api;
}

/** An SAE job's result as it crosses to the client: tables as IPC bytes. */
export interface SaeJobBytes {
  summary: SaeJobResult['summary'];
  /** Absent for an SAE from the hub. */
  files?: Uint8Array;
  curve?: Uint8Array;
}

/**
 * Calls to a client callback. A comlink callback travels on its own MessagePort, so nothing orders
 * its messages against the job's result: `flushed()` waits until every call was handled, so the
 * client has seen the last token before the job resolves. `release()` closes the port.
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
