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
  BOS,
  EOS,
  evaluateLoss,
  generate,
  loadLlama2c,
  perTokenLoss,
  TextError,
  type LlamaModel,
  type Llama2cTokenizer,
  type ModelInfo,
} from '../runtime/index';
import { formatCount } from '../runtime/errors';
import { nextTokenTable, tokenLossTable } from '../runtime/tables';
import { tensorTable } from '../runtime/tensor-table';
import { listHookPoints, type Hook } from '../runtime/hooks';
import { topKDistribution } from './next-token';
import type {
  BackendInfo,
  BackendKind,
  GeneratedToken,
  GenerateRequest,
  GenerateSummary,
  JobProgress,
  LoadedModel,
  LoadRequest,
  LossSummary,
} from './runtime-types';

/**
 * A callback as the worker receives it: a comlink proxy (its calls return promises that settle
 * once the client has run it) when remote, a plain function when local.
 */
type Callback<A> = (arg: A) => unknown;

interface Loaded {
  model: LlamaModel;
  tokenizer: Llama2cTokenizer;
  info: ModelInfo;
}

/** Largest `topK` accepted (the table is small; a whole 32k vocabulary is not). */
export const MAX_TOP_K = 1000;

/** Create the API object (`expose` it, or call it directly in tests). */
export function createRuntimeApi(options: { createBackend?: (kind: BackendKind) => Promise<Backend> } = {}) {
  const makeBackend =
    options.createBackend ??
    ((kind: BackendKind): Promise<Backend> =>
      kind === 'webgpu' ? createWebGpuBackend() : Promise.resolve(createCpuBackend()));
  let backend: Backend | undefined;
  let loaded: Loaded | undefined;
  const jobs = new Map<number, AbortController>();

  function requireModel(): Loaded {
    if (!loaded) throw new Error('no model loaded: call load() first');
    return loaded;
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
      dropModel();
      backend?.destroy();
      backend = undefined;
      backend = await makeBackend(kind);
      return { kind: backend.kind, description: backend.description };
    },

    /**
     * Parse a llama2.c model and tokenizer and upload the weights, replacing the current model
     * (which stays if this one fails).
     * @throws ModelFormatError / TokenizerError / CompatibilityError naming the file.
     */
    async load(request: LoadRequest): Promise<LoadedModel> {
      if (!backend) throw new Error('no backend: call init() first');
      const t0 = performance.now();
      const { modelBytes, modelName, tokenizerBytes, tokenizerName } = request;
      // Parse before dropping the current model: a bad file must not cost the user the good one.
      const next = loadLlama2c(backend, modelBytes, modelName, tokenizerBytes, tokenizerName);
      dropModel();
      loaded = next;
      await backend.sync();
      return {
        shape: { ...loaded.info },
        backend: { kind: backend.kind, description: backend.description },
        modelName,
        tokenizerName,
        loadMs: performance.now() - t0,
      };
    },

    /** Top-k next-token distribution after BOS + `text`, as Arrow IPC bytes (NEXT_TOKEN_SCHEMA). */
    nextToken(jobId: number, text: string, topK: number): Promise<Uint8Array> {
      return runJob(jobId, async (signal) => {
        const l = requireModel();
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
    ): Promise<{ logits: Uint8Array; activations: Record<string, Uint8Array> }> {
      return runJob(jobId, async (signal) => {
        const l = requireModel();
        const known = new Set(listHookPoints(l.model.config));
        for (const name of capture) {
          if (!known.has(name)) throw new RangeError(`unknown hook point '${name}' (see listHookPoints)`);
        }
        const tokens = encodePrompt(l, text);
        const b = l.model.backend;
        const reads: Promise<[string, readonly number[], Float32Array]>[] = [];
        const hooks: Record<string, Hook> = {};
        // Reads are issued inside the hook (the tensor is freed after it) and awaited afterwards.
        for (const name of capture)
          hooks[name] = (t) => void reads.push(b.read(t).then((d) => [name, t.shape, d]));
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

    /** Per-token loss of BOS + `text`, as Arrow IPC bytes (TOKEN_LOSS_SCHEMA). */
    tokenLoss(jobId: number, text: string): Promise<Uint8Array> {
      return runJob(jobId, async (signal) => {
        const l = requireModel();
        const tokens = l.tokenizer.encode(text, { bos: true, source: 'prompt' });
        const losses = await perTokenLoss(l.model, tokens, { signal });
        const texts = Array.from(tokens, (t, i) => tokenText(l.tokenizer, i > 0 ? tokens[i - 1]! : BOS, t));
        return ipc(tokenLossTable({ tokenIds: tokens, tokens: texts, losses }));
      });
    },

    /** Mean loss over a text, reporting progress per window. */
    loss(
      jobId: number,
      text: string,
      onProgress?: Callback<JobProgress>,
      fileName = 'text',
    ): Promise<LossSummary> {
      return runJob(jobId, async (signal) => {
        const l = requireModel();
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
    ): Promise<GenerateSummary> {
      return runJob(jobId, async (signal) => {
        const l = requireModel();
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

    /** Abort a running job; unknown or finished ids are ignored. */
    cancel(jobId: number): void {
      jobs.get(jobId)?.abort(new DOMException('cancelled', 'AbortError'));
    },
  };

  function dropModel(): void {
    loaded?.model.dispose();
    loaded = undefined;
  }

  return api;
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
    const r = (this.cb as { [releaseProxy]?: () => void } | undefined)?.[releaseProxy];
    if (typeof r === 'function') r.call(this.cb);
  }
}

/**
 * A token as text in context: BOS/EOS as their piece (`<s>`), a lone byte of a multi-byte
 * character as its `<0xNN>` piece, anything else decoded after `prev`.
 */
export function tokenText(tokenizer: Llama2cTokenizer, prev: number, token: number): string {
  // llama2.c tokenizers store BOS/EOS as "\n<s>\n" / "\n</s>\n".
  if (token === BOS || token === EOS) return tokenizer.piece(token).trim();
  const text = tokenizer.decode(prev, token);
  return text.includes('\uFFFD') ? tokenizer.piece(token) : text;
}
