/**
 * The runtime worker's API as a plain object, so it can run behind comlink in a Web Worker
 * (runtime.worker.ts) and, in tests, behind a MessageChannel in Node with the CPU backend.
 *
 * Every job is one `jobs.define(...)` (job.ts): called with `{ id, request, model }`, cancelled by
 * `cancel(id)` (the runtime stops at its next checkpoint, between windows / tokens, rejecting with
 * an AbortError), answering `{ summary, tables }` with the tables as Arrow IPC bytes in the
 * transfer list. The client's methods are derived from this object's type (runtime-client.ts).
 */
import { createFastCpuBackend, createWebGpuBackend, type Backend } from '../kernels/index';
import { evaluateLoss, generate, perTokenLoss, TextError } from '../runtime/index';
import { formatCount } from '../runtime/errors';
import { nextTokenTable, tokenLossTable } from '../runtime/tables';
import { autotuneLoaded } from '../runtime/model/autotune';
import { tensorTable } from '../runtime/tensor-table';
import { listHookPoints, readIndices, type Hook, type IndexHook } from '../runtime/hooks';
import type { Table } from 'apache-arrow';
import { JobRunner, type JobContext } from './job';
import { loadFiles, type LoadedFiles } from './model-files';
import { loadFromHub } from './hub-load';
import type { HubModelHandle, HubLoadProgress, HubLoadRequest } from './hub-types';
import { runtimeMemoryStats, type RuntimeMemoryStats } from './memory-stats';
import { topKDistribution } from '../runtime/next-token';
import { tokenText } from '../runtime/tokenizers/token-text';
import { inspect, type InspectRequest } from './inspect';
import {
  maskJob,
  maskTokenLossJob,
  probeJob,
  sweepJob,
  type MaskJobRequest,
  type MaskTokenLossRequest,
  type ProbeJobRequest,
  type SweepJobRequest,
} from './attention-jobs';
import {
  activationsJob,
  dlaJob,
  logitLensJob,
  patchJob,
  type ActivationsJobRequest,
  type DlaJobRequest,
  type LogitLensJobRequest,
  type PatchJobRequest,
} from './interp-jobs';
import { moeRoutingJob, type MoeRoutingRequest } from './moe-jobs';
import {
  moeBalanceJob,
  moeInterventionJob,
  moeLabJob,
  moeTokenRouteJob,
  type MoeBalanceRequest,
  type MoeInterventionRequest,
  type MoeLabRequest,
  type MoeTokenRouteRequest,
} from './moe-lab-jobs';
import {
  pruningExportJob,
  pruningMaskJob,
  pruningSweepJob,
  pruningTokenLossJob,
  PruningStore,
  type PruningMaskRequest,
  type PruningPointRequest,
  type PruningSweepRequest,
  type PruningTokenLossRequest,
} from './pruning-jobs';
import {
  saeAblateJob,
  saeBrowseJob,
  saeFeatureJob,
  saeImportJob,
  saePromptJob,
  SaeStore,
  saeSteerJob,
  saeTrainJob,
  type SaeAblateRequest,
  type SaeBrowseRequest,
  type SaeFeatureRequest,
  type SaeImportRequest,
  type SaeJobResult,
  type SaePromptRequest,
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
  type ForwardRequest,
  type GeneratedToken,
  type GenerateRequest,
  type JobProgress,
  type LoadRequest,
  type LossRequest,
  type ModelHandle,
  type NextTokenRequest,
  type PruningProgress,
  type TextRequest,
} from './runtime-types';

/** Most models one worker keeps loaded at once (each holds its weights on the backend). */
export const MAX_MODELS = 8;

/** Largest `topK` accepted (the table is small; a whole 32k vocabulary is not). */
export const MAX_TOP_K = 1000;

/** A job body's context in this worker (`P`: its progress type). */
type Ctx<P = never> = JobContext<P, LoadedFiles>;

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
      kind === 'webgpu' ? createWebGpuBackend() : createFastCpuBackend());
  let backend: Backend | undefined;
  const models = new Map<string, LoadedFiles>();
  const jobs = new JobRunner<LoadedFiles>(requireModel);
  /** Pruning sweeps' variants, kept per cell for the view's masks and exports. */
  const pruning = new PruningStore();
  /** SAEs trained or imported by SAE cells, kept per cell for the feature views. */
  const saes = new SaeStore();

  function requireModel(key: string): LoadedFiles {
    const l = models.get(key);
    if (!l) {
      const have = [...models.keys()].join(', ') || 'none';
      throw new Error(`no model loaded under '${key}' (loaded: ${have}); call load() first`);
    }
    return l;
  }

  function requireBackend(): Backend {
    if (!backend) throw new Error('no backend: call init() first');
    return backend;
  }

  /** Encode a prompt (BOS first) and refuse one longer than the model's context. */
  function encodePrompt(l: LoadedFiles, text: string): Int32Array {
    const tokens = l.tokenizer.encode(text, { bos: true, source: 'prompt' });
    if (tokens.length > l.info.seqLen) {
      throw new TextError(
        'prompt',
        `${formatCount(tokens.length)} tokens (BOS included) do not fit the model's context of ${formatCount(l.info.seqLen)} tokens; shorten it`,
      );
    }
    return tokens;
  }

  /**
   * Keep `next` under `key` once the backend has it (sync() reports a GPU error while uploading),
   * replacing the model kept there; a failure (or a cancel) frees `next` and leaves that one.
   */
  async function keep(b: Backend, key: string, next: LoadedFiles, t0: number, signal: AbortSignal) {
    try {
      await b.sync();
      signal.throwIfAborted();
    } catch (e) {
      next.model.dispose();
      throw e;
    }
    // On a real GPU the model's matmul shapes are tuned once per adapter (cached; a no-op on the
    // CPU backend and on SwiftShader).
    await autotuneLoaded(next.model, next.tokenizer.documentToken);
    signal.throwIfAborted();
    unload(key);
    models.set(key, next);
    const handle: ModelHandle = {
      shape: { ...next.info },
      backend: { kind: b.kind, description: b.description },
      key,
      modelName: next.modelName,
      tokenizerName: next.tokenizerName,
      loadMs: performance.now() - t0,
    };
    return handle;
  }

  function checkRoom(key: string): void {
    if (!models.has(key) && models.size >= MAX_MODELS) {
      throw new RangeError(`at most ${MAX_MODELS} models can be loaded at once; unload one first`);
    }
  }

  const api = {
    /**
     * Create the backend inside the worker (WebGPU acquires its device here). Replaces any previous
     * backend and drops the loaded models.
     * @throws WebGpuUnavailableError when WebGPU is asked for and no adapter exists (no fallback).
     */
    async init(kind: BackendKind): Promise<BackendInfo> {
      if (kind !== 'cpu' && kind !== 'webgpu') throw new Error(`unknown backend: ${String(kind)}`);
      jobs.cancelAll('backend replaced');
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
    load: jobs.define(async (request: LoadRequest, ctx: Ctx) => {
      const b = requireBackend();
      const key = request.key ?? DEFAULT_MODEL_KEY;
      checkRoom(key);
      const t0 = performance.now();
      return { summary: await keep(b, key, loadFiles(b, request.files), t0, ctx.signal) };
    }),

    /**
     * Load `hf:ORG/NAME[@REV]` from the hub (workers/hub-load.ts) under `request.key`, tensor by
     * tensor with progress; the model kept there is replaced only once the new one is up, so a
     * cancel (which aborts every request at once) or a failure leaves it loaded.
     * @throws HubFetchError / ModelFormatError / HubMemoryError naming the file or the numbers.
     */
    loadHub: jobs.define(async (request: HubLoadRequest, ctx: Ctx<HubLoadProgress>) => {
      const b = requireBackend();
      const key = request.key ?? DEFAULT_MODEL_KEY;
      checkRoom(key);
      const t0 = performance.now();
      const cache = request.cache === false ? null : hubCache();
      const next = await loadFromHub(b, request, { signal: ctx.signal, cache, onProgress: ctx.onProgress });
      const handle = await keep(b, key, next, t0, ctx.signal);
      const { id, repo, revision, files, notes, weightBytes, downloadedBytes } = next;
      const summary: HubModelHandle = {
        ...handle,
        hub: { id, repo, revision, files, notes, weightBytes, downloadedBytes },
      };
      return { summary };
    }),

    /** Free the model kept under `key` (no-op when there is none). */
    unload(key: string): void {
      unload(key);
    },

    /** Top-k next-token distribution after BOS + `text`: `next` (NEXT_TOKEN_SCHEMA). */
    nextToken: jobs.define(async ({ text, topK = 10 }: NextTokenRequest, ctx: Ctx) => {
      const l = ctx.model();
      const max = Math.min(MAX_TOP_K, l.info.vocabSize);
      if (!Number.isInteger(topK) || topK < 1 || topK > max) {
        throw new RangeError(`topK must be an integer in [1, ${max}], got ${topK}`);
      }
      const tokens = encodePrompt(l, text);
      ctx.signal.throwIfAborted();
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
      const texts = Array.from(top.tokenIds, (id) => tokenText(l.tokenizer, prev, id));
      return { summary: null, tables: { next: nextTokenTable({ ...top, tokens: texts }) } };
    }),

    /**
     * Full forward pass of BOS + `text`: the logits [T, vocab] (table `logits`) and the activations
     * at the hook points named in `capture` (e.g. `blocks.2.hook_resid_post`), a table under each
     * hook's name, all tensor tables (runtime/tensor-table.ts).
     */
    forward: jobs.define(async ({ text, capture = [] }: ForwardRequest, ctx: Ctx) => {
      const l = ctx.model();
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
          ? readIndices((t) => void reads.push(b.read(t).then((d) => [name, t.shape, Float32Array.from(d)])))
          : (t) => void reads.push(b.read(t).then((d) => [name, t.shape, d]));
      }
      ctx.signal.throwIfAborted();
      const logits = await l.model.forward(tokens, { hooks });
      let data: Float32Array;
      try {
        data = await b.read(logits);
      } finally {
        b.dispose(logits);
      }
      const tables: Record<string, Table> = {};
      for (const [name, shape, values] of await Promise.all(reads))
        tables[name] = tensorTable(name, shape, values);
      tables.logits = tensorTable('logits', logits.shape, data);
      return { summary: { capture: [...capture] }, tables };
    }),

    /**
     * One forward pass of BOS + `text` (cut to the context) for the model view: per-token loss
     * (`tokens`), next-token distribution after `request.position` (`next`) and `request.layer`'s
     * attention pattern (`pattern`).
     */
    inspect: jobs.define(async (request: InspectRequest, ctx: Ctx) => {
      const l = ctx.model();
      const { tokens, next, pattern, ...summary } = await inspect(l.model, l.tokenizer, request, ctx.signal);
      return { summary, tables: { tokens, next, pattern } };
    }),

    /** Per-token loss of BOS + `text`: `tokens` (TOKEN_LOSS_SCHEMA). */
    tokenLoss: jobs.define(async ({ text }: TextRequest, ctx: Ctx) => {
      const l = ctx.model();
      const tokens = l.tokenizer.encode(text, { bos: true, source: 'prompt' });
      const losses = await perTokenLoss(l.model, tokens, { signal: ctx.signal });
      const texts = Array.from(tokens, (t, i) =>
        tokenText(l.tokenizer, i > 0 ? tokens[i - 1]! : l.tokenizer.documentToken, t),
      );
      return {
        summary: null,
        tables: { tokens: tokenLossTable({ tokenIds: tokens, tokens: texts, losses }) },
      };
    }),

    /** Mean loss over a text, reporting progress per window. */
    loss: jobs.define(async ({ text, fileName = 'text' }: LossRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      const t0 = performance.now();
      const r = await evaluateLoss(l.model, l.tokenizer, text, {
        signal: ctx.signal,
        fileName,
        onProgress: (p) => ctx.onProgress({ done: p.done, total: p.total }),
      });
      const { loss, perplexity, tokens: targets, documents } = r;
      return { summary: { loss, perplexity, targets, documents, ms: performance.now() - t0 } };
    }),

    /** Generate up to `steps` new tokens after the prompt, each reported as progress. */
    generate: jobs.define(async (request: GenerateRequest, ctx: Ctx<GeneratedToken>) => {
      const l = ctx.model();
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
      let index = 0;
      const r = await generate(l.model, l.tokenizer, {
        prompt,
        steps: positions,
        temperature,
        seed,
        signal: ctx.signal,
        onToken: (tokenId, text) => ctx.onProgress({ index: index++, tokenId, text }),
      });
      const generated = r.tokens.length - r.promptLength;
      const stop = r.stoppedAtBos ? 'bos' : generated < steps ? 'context' : 'steps';
      return { summary: { text: r.text, tokens: generated, ms: performance.now() - t0, stop } as const };
    }),

    /**
     * Attention probes of every head over the first windows of a text (attention-jobs.ts), with
     * progress per window: `heads` (HEAD_PROBE_COLUMNS) and `positions` (POSITION_PROBE_COLUMNS).
     */
    attentionProbes: jobs.define(async (request: ProbeJobRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      const { summary, ...tables } = await probeJob(l.model, l.tokenizer, request, ctx);
      return { summary, tables };
    }),

    /**
     * One mask family on one document's layer (attention-jobs.ts): the chosen head's `pattern` and
     * `mask` (tensor tables [T, T]), per-head density / recall (`heads`) and token texts (`tokens`).
     */
    attentionMask: jobs.define(async (request: MaskJobRequest, ctx: Ctx) => {
      const l = ctx.model();
      const { summary, ...tables } = await maskJob(l.model, l.tokenizer, request, ctx.signal);
      return { summary, tables };
    }),

    /**
     * One document's per-token loss, `dense` and `masked` with a family at a budget in every layer
     * (token-loss tables): the change in the selected token's loss under the mask.
     */
    attentionMaskTokenLoss: jobs.define(async (request: MaskTokenLossRequest, ctx: Ctx) => {
      const l = ctx.model();
      const { summary, ...tables } = await maskTokenLossJob(l.model, l.tokenizer, request, ctx.signal);
      return { summary, tables };
    }),

    /**
     * Mask sweep (attention-jobs.ts): every family × budget, loss with the mask in the forward
     * pass, progress per point: `points` (SWEEP_COLUMNS) and `heads` (SWEEP_HEAD_COLUMNS).
     */
    attentionSweep: jobs.define(async (request: SweepJobRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      const { summary, ...tables } = await sweepJob(l.model, l.tokenizer, request, ctx);
      return { summary, tables };
    }),

    /** The logit lens over one document (interp-jobs.ts): `layers`, `grid`, `tokens`. */
    logitLens: jobs.define(async (request: LogitLensJobRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      return logitLensJob(l.model, l.tokenizer, request, ctx);
    }),

    /** Activation patching of one hook, clean into corrupted (interp-jobs.ts): `restored`, `tokens`. */
    patching: jobs.define(async (request: PatchJobRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      return patchJob(l.model, l.tokenizer, request, ctx);
    }),

    /** Direct logit attribution at one position (interp-jobs.ts): `parts`, `tokens`. */
    logitAttribution: jobs.define(async (request: DlaJobRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      return dlaJob(l.model, l.tokenizer, request, ctx);
    }),

    /**
     * One hook's activations over one document (interp-jobs.ts): `values` (tensor [T, C]),
     * `channels`, `massive`, `token_sparsity`, `tokens` and, for dense models, `chunks`.
     */
    activations: jobs.define(async (request: ActivationsJobRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      return activationsJob(l.model, l.tokenizer, request, ctx);
    }),

    /**
     * MoE routing over one text per domain (moe-jobs.ts), progress per window: `usage`
     * (MOE_USAGE_COLUMNS), `layers` (MOE_LAYER_COLUMNS) and `load` (MOE_LOAD_COLUMNS).
     */
    moeRouting: jobs.define(async (request: MoeRoutingRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      const { summary, ...tables } = await moeRoutingJob(l.model, l.tokenizer, request, {
        modelName: l.modelName,
        signal: ctx.signal,
        onProgress: ctx.onProgress,
      });
      return { summary, tables };
    }),

    /**
     * The MoE lab's routing report (moe-lab-jobs.ts): the model over texts, or a routing log from
     * Parquet files or URLs (no model needed), with every routing analysis: `usage`, `layers`,
     * `coactivation`, `balance`, `chunks`, `tokenExpert`, `vocabulary`.
     */
    moeLab: jobs.define(async (request: MoeLabRequest, ctx: Ctx<JobProgress>) => {
      const loaded = request.source.kind === 'texts' ? ctx.model() : undefined;
      return moeLabJob(loaded, request, ctx);
    }),

    /** The experts of one token of a document per layer (moe-lab-jobs.ts): the selection, routed. */
    moeTokenRoute: jobs.define(async (request: MoeTokenRouteRequest, ctx: Ctx) => {
      const l = ctx.model();
      return { summary: await moeTokenRouteJob(l.model, l.tokenizer, request, ctx) };
    }),

    /** Aux-free balancing simulated on a text's routing, and the loss with the biases (`steps`). */
    moeBalance: jobs.define(async (request: MoeBalanceRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      return moeBalanceJob(l.model, l.tokenizer, l.modelName, request, ctx);
    }),

    /** Loss with routing interventions, and the expert-pruning curve (`pruning`). */
    moeInterventions: jobs.define(async (request: MoeInterventionRequest, ctx: Ctx<JobProgress>) => {
      const l = ctx.model();
      return moeInterventionJob(l.model, l.tokenizer, l.modelName, request, ctx);
    }),

    /**
     * Pruning sweep (pruning-jobs.ts): methods × patterns × sparsities, progress per point: `points`
     * (PRUNING_POINT_COLUMNS) and `layers` (PRUNING_LAYER_COLUMNS). The pruned variants stay in
     * the worker under `request.cellId` for `pruningMask` and `pruningExport`.
     */
    pruningSweep: jobs.define(async (request: PruningSweepRequest, ctx: Ctx<PruningProgress>) => {
      const l = ctx.model();
      const { summary, ...tables } = await pruningSweepJob(l.model, l.tokenizer, pruning, request, ctx);
      return { summary, tables };
    }),

    /**
     * One matrix of a kept pruning point: `dense` weights, keep `mask` and `pruned` values as
     * tensor tables [rows, cols] (no pruning is redone).
     */
    pruningMask: jobs.define(async (request: PruningMaskRequest, _ctx: Ctx) => {
      const { summary, ...tables } = await pruningMaskJob(pruning, checkLive(request));
      return { summary, tables };
    }),

    /**
     * One document's per-token loss, `dense` and with a kept point's `pruned` weights (token-loss
     * tables): the change in the selected token's loss under the point.
     */
    pruningTokenLoss: jobs.define(async (request: PruningTokenLossRequest, ctx: Ctx) => {
      const { model } = pruning.point(checkLive(request));
      const l = [...models.values()].find((m) => m.model === model)!;
      const { summary, ...tables } = await pruningTokenLossJob(pruning, l.tokenizer, request, ctx);
      return { summary, tables };
    }),

    /** The exported files of a kept pruning point (llama2.c, HF safetensors, masks). */
    pruningExport: jobs.define(async (request: PruningPointRequest, _ctx: Ctx) => {
      const f = await pruningExportJob(pruning, checkLive(request));
      const files = [f.modelBin, f.modelSafetensors, f.masksSafetensors].filter((b) => b != null);
      return { summary: f, transfer: files.map((b) => b.buffer as ArrayBuffer) };
    }),

    /**
     * Train an SAE (sae-jobs.ts) with a point of the curve per reported step; the client's pause
     * gate is awaited before every step. The SAE stays under `request.cellId`.
     */
    saeTrain: jobs.define(async (request: SaeTrainRequest, ctx: Ctx<SaeTrainProgress>) => {
      const l = ctx.model();
      return saeOutput(await saeTrainJob(l.model, l.tokenizer, saes, l.modelName, request, ctx));
    }),

    /** Import SAELens files (or restore a kept result's) and keep the SAE under `request.cellId`. */
    saeImport: jobs.define(async (request: SaeImportRequest, ctx: Ctx) => {
      const l = ctx.model();
      return saeOutput(await saeImportJob(l.model, l.tokenizer, saes, request, ctx));
    }),

    /**
     * Open a pretrained SAE from the hub by id or release (sae-hub.ts), with the download's
     * progress, check it against the model, evaluate it and keep it under `request.cellId`.
     */
    saeHub: jobs.define(async (request: SaeHubRequest, ctx: Ctx<HubLoadProgress>) => {
      const l = ctx.model();
      return saeOutput(await saeHubJob(l.model, l.tokenizer, saes, request, { ...ctx, cache: hubCache() }));
    }),

    /** Feature list of a kept SAE over a text: `list` (FEATURE_LIST_SCHEMA). */
    saeBrowse: jobs.define(async (request: SaeBrowseRequest, ctx: Ctx<JobProgress>) => {
      const { list, summary } = await saeBrowseJob(tokenizerOf(request), saes, request, ctx);
      return { summary, tables: { list } };
    }),

    /** One feature's card (after a browse). */
    saeFeature: jobs.define(async (request: SaeFeatureRequest, _ctx: Ctx) => ({
      summary: await saeFeatureJob(tokenizerOf(request), saes, request),
    })),

    /** Active features on each token of a prompt. */
    saePrompt: jobs.define(async (request: SaePromptRequest, _ctx: Ctx) => ({
      summary: await saePromptJob(tokenizerOf(request), saes, request),
    })),

    /** Greedy text with and without steering / clamping a feature. */
    saeSteer: jobs.define(async (request: SaeSteerRequest, ctx: Ctx) => ({
      summary: await saeSteerJob(tokenizerOf(request), saes, request, ctx),
    })),

    /** Loss with a feature zero-ablated against the clean loss. */
    saeAblate: jobs.define(async (request: SaeAblateRequest, ctx: Ctx) => ({
      summary: await saeAblateJob(tokenizerOf(request), saes, request, ctx),
    })),

    /** Abort a running job; unknown or finished ids are ignored. */
    cancel(jobId: number): void {
      jobs.cancel(jobId);
    },

    /** Read-only memory counters (memory-stats.ts): kept models and results, GPU buffer pool. */
    memory(): RuntimeMemoryStats {
      const counts = { models: models.size, saes: saes.size, pruningSweeps: pruning.size, jobs: jobs.size };
      return runtimeMemoryStats(backend, counts);
    },
  };

  /**
   * An SAE job's result: the summary, the SAE's files (none for an SAE from the hub) and, after
   * training, the curve.
   */
  function saeOutput(r: Omit<SaeJobResult, 'files'> & { files?: Table }) {
    return { summary: r.summary, tables: { files: r.files, curve: r.curve } };
  }

  /** The tokenizer of the model a kept SAE was made on (which must still be loaded). */
  function tokenizerOf(ref: SaeRef) {
    const { model } = saes.sae(ref);
    const l = [...models.values()].find((m) => m.model === model);
    if (!l) throw new Error('the model of this SAE was unloaded or replaced: run the SAE cell again');
    return l.tokenizer;
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
