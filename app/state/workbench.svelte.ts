/**
 * State of the first page: backend, model, prompt and the three results (next-token distribution,
 * per-token loss, generation). A runes class kept outside the components; every long action has
 * a task (status, progress, error) and can be cancelled. All compute happens in the runtime
 * worker behind `RuntimeClient`.
 */
import { createRuntimeClient, type RuntimeClient } from '../../workers/runtime-client';
import type { BackendInfo, BackendKind, LoadedModel, LoadRequest } from '../../workers/runtime-types';
import { describeError, isAbort, type ErrorView } from './errors';
import { fetchBytes } from './fetch-bytes';
import { fileNameOfUrl, formatBytes } from './format';
import { parsePageParams } from './query';
import { nextTokenRows, tokenLossRows, type NextTokenRow, type TokenLossRow } from './rows';

export type TaskStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'error';

/** Runtime state of one action (never persisted). */
export interface Task {
  status: TaskStatus;
  /** What is happening now, e.g. "Downloading model…". */
  phase?: string;
  /** 0..1, or undefined when indeterminate. */
  progress?: number;
  /** Whether Cancel can stop it now (a download can; parsing in the worker cannot). */
  cancellable?: boolean;
  error?: ErrorView;
  /** Wall time of the finished action. */
  ms?: number;
}

/** Number of rows of the next-token list. */
export const TOP_K = 10;
/** Upper bound of the generation length input. */
export const MAX_STEPS = 512;

const idle = (): Task => ({ status: 'idle' });

export class Workbench {
  readonly webgpuAvailable = typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;

  backendKind = $state<BackendKind>('cpu');
  backend = $state<BackendInfo | undefined>(undefined);
  backendTask = $state<Task>(idle());

  model = $state<LoadedModel | undefined>(undefined);
  loadTask = $state<Task>(idle());
  modelUrl = $state('');
  tokenizerUrl = $state('');
  /** A page-wide message (e.g. the device was lost and the model reloaded). */
  notice = $state<string | undefined>(undefined);

  prompt = $state('Once upon a time');
  steps = $state(64);
  temperature = $state(0);
  seed = $state(42);

  nextTask = $state<Task>(idle());
  nextRows = $state.raw<NextTokenRow[]>([]);
  lossTask = $state<Task>(idle());
  lossRows = $state.raw<TokenLossRow[]>([]);
  genTask = $state<Task>(idle());
  genPrompt = $state('');
  genText = $state('');
  genCount = $state(0);
  genSteps = $state(0);
  genStop = $state<string | undefined>(undefined);

  readonly running = $derived(
    this.nextTask.status === 'running' ||
      this.lossTask.status === 'running' ||
      this.genTask.status === 'running',
  );
  readonly loading = $derived(this.loadTask.status === 'running' || this.backendTask.status === 'running');

  private readonly client: RuntimeClient;
  private lastRequest: LoadRequest | undefined;
  private loadController: AbortController | undefined;
  private runController: AbortController | undefined;
  /** Bumped by every load: a slower, older load must not overwrite a newer one (latest wins). */
  private loadSeq = 0;

  constructor(client: RuntimeClient = createRuntimeClient()) {
    this.client = client;
    this.backendKind = this.webgpuAvailable ? 'webgpu' : 'cpu';
  }

  /** Apply URL parameters, start the backend, and fetch the model they name. */
  async start(search: string): Promise<void> {
    const params = parsePageParams(search);
    if (params.backend && (params.backend === 'cpu' || this.webgpuAvailable))
      this.backendKind = params.backend;
    if (params.prompt !== undefined) this.prompt = params.prompt;
    this.modelUrl = params.modelUrl ?? '';
    this.tokenizerUrl = params.tokenizerUrl ?? '';
    await this.setBackend(this.backendKind);
    if (params.modelUrl && params.tokenizerUrl && this.backend) await this.loadUrls();
  }

  /** Create the backend in the worker; a loaded model is reloaded onto it. */
  async setBackend(kind: BackendKind): Promise<void> {
    this.cancelRun();
    this.backendKind = kind;
    this.backend = undefined;
    this.backendTask = {
      status: 'running',
      phase: kind === 'webgpu' ? 'Requesting a WebGPU adapter…' : 'Starting…',
    };
    const t0 = performance.now();
    try {
      this.backend = await this.client.init(kind);
      this.backendTask = { status: 'done', ms: performance.now() - t0 };
    } catch (e) {
      this.model = undefined;
      this.backendTask = { status: 'error', error: describeError(e) };
      return;
    }
    if (this.lastRequest) await this.loadBytes(this.lastRequest);
    else this.model = undefined;
  }

  /** Load a model and tokenizer chosen with file inputs. */
  async loadFiles(modelFile: File, tokenizerFile: File): Promise<void> {
    const seq = this.beginLoad('Reading files…');
    try {
      const [modelBytes, tokenizerBytes] = await Promise.all([
        modelFile.arrayBuffer(),
        tokenizerFile.arrayBuffer(),
      ]);
      if (seq !== this.loadSeq) return;
      await this.loadBytes(
        { modelBytes, modelName: modelFile.name, tokenizerBytes, tokenizerName: tokenizerFile.name },
        seq,
      );
    } catch (e) {
      this.failLoad(seq, e);
    }
  }

  /** Download the model and tokenizer at `modelUrl` / `tokenizerUrl`, then load them. */
  async loadUrls(): Promise<void> {
    const modelUrl = this.modelUrl.trim();
    const tokenizerUrl = this.tokenizerUrl.trim();
    if (!modelUrl || !tokenizerUrl) {
      this.loadTask = {
        status: 'error',
        error: { title: 'Missing URL', message: 'Give both a model URL and a tokenizer URL.' },
      };
      return;
    }
    const seq = this.beginLoad('Downloading…');
    // One failed download stops the other, and its late progress must not hide the error.
    const sibling = new AbortController();
    const signal = AbortSignal.any([this.loadController!.signal, sibling.signal]);
    const got = [0, 0];
    const totals: (number | undefined)[] = [undefined, undefined];
    const report = (i: number) => (p: { loaded: number; total: number | undefined }) => {
      got[i] = p.loaded;
      totals[i] = p.total;
      if (seq !== this.loadSeq || signal.aborted) return;
      const known = totals.every((t) => t !== undefined);
      const loaded = got[0]! + got[1]!;
      this.loadTask = {
        status: 'running',
        phase: `Downloading… ${formatBytes(loaded)}`,
        cancellable: true,
        progress: known ? loaded / (totals[0]! + totals[1]!) : undefined,
      };
    };
    try {
      const [modelBytes, tokenizerBytes] = await Promise.all([
        fetchBytes(modelUrl, { signal, onProgress: report(0) }),
        fetchBytes(tokenizerUrl, { signal, onProgress: report(1) }),
      ]);
      if (seq !== this.loadSeq) return;
      await this.loadBytes(
        {
          modelBytes,
          modelName: fileNameOfUrl(modelUrl),
          tokenizerBytes,
          tokenizerName: fileNameOfUrl(tokenizerUrl),
        },
        seq,
      );
    } catch (e) {
      sibling.abort();
      this.failLoad(seq, e);
    }
  }

  /** Stop a download (parsing in the worker is not interruptible). */
  cancelLoad(): void {
    this.loadController?.abort();
  }

  /** Run the three analyses of the prompt, one after the other, until done or cancelled. */
  async run(): Promise<void> {
    if (!this.model || this.running) return;
    this.notice = undefined;
    const controller = new AbortController();
    this.runController = controller;
    const { signal } = controller;
    const prompt = this.prompt;
    const request = {
      prompt,
      steps: clampInt(this.steps, 1, MAX_STEPS),
      temperature: Math.max(0, Number(this.temperature) || 0),
      seed: clampInt(this.seed, 1, 2 ** 31 - 1),
    };
    this.nextTask = { status: 'running', phase: 'Computing the next-token distribution…' };
    this.lossTask = { status: 'idle', phase: 'Waiting…' };
    this.genTask = { status: 'idle', phase: 'Waiting…' };
    this.nextRows = [];
    this.lossRows = [];
    this.genPrompt = prompt;
    this.genText = '';
    this.genCount = 0;
    this.genSteps = request.steps;
    this.genStop = undefined;

    const go =
      (await this.track('nextTask', async () => {
        this.nextRows = nextTokenRows(await this.client.nextToken(prompt, { topK: TOP_K, signal }));
      })) &&
      (await this.track('lossTask', async () => {
        this.lossTask = { status: 'running', phase: 'Scoring the prompt…' };
        this.lossRows = tokenLossRows(await this.client.tokenLoss(prompt, { signal }));
      })) &&
      (await this.track('genTask', async () => {
        this.genTask = { status: 'running', phase: 'Generating…', progress: 0 };
        const r = await this.client.generate(request, {
          signal,
          onToken: (t) => {
            if (signal.aborted) return; // a token in flight when Cancel was pressed
            this.genText += t.text;
            this.genCount = t.index + 1;
            this.genTask = {
              status: 'running',
              phase: 'Generating…',
              progress: this.genCount / request.steps,
            };
          },
        });
        this.genCount = r.tokens;
        this.genStop = r.stop;
      }));
    // A step that did not run because an earlier one stopped the run is cancelled too.
    if (!go) {
      for (const key of ['nextTask', 'lossTask', 'genTask'] as const) {
        if (this[key].status === 'idle') this[key] = { status: 'cancelled' };
      }
    }
    if (this.runController === controller) this.runController = undefined;
  }

  /** Cancel the running analyses. */
  cancelRun(): void {
    this.runController?.abort();
  }

  /**
   * Run one step of `run`, recording its status. Returns whether the run should go on: yes after
   * success or an input error (the other steps may still work), no after a cancel or device loss.
   */
  private async track(key: 'nextTask' | 'lossTask' | 'genTask', body: () => Promise<void>): Promise<boolean> {
    const t0 = performance.now();
    if (this.runController?.signal.aborted) return false;
    this[key] = { ...this[key], status: 'running' };
    try {
      await body();
      this[key] = { status: 'done', ms: performance.now() - t0 };
      return true;
    } catch (e) {
      if (isAbort(e)) {
        this[key] = { status: 'cancelled', ms: performance.now() - t0 };
        return false;
      }
      const error = describeError(e);
      this[key] = { status: 'error', error };
      if (error.name === 'DeviceLostError') {
        this.notice = error.message;
        return false;
      }
      return true;
    }
  }

  private beginLoad(phase: string): number {
    this.loadController?.abort();
    this.loadController = new AbortController();
    this.loadTask = { status: 'running', phase, cancellable: true };
    return ++this.loadSeq;
  }

  private failLoad(seq: number, e: unknown): void {
    if (seq !== this.loadSeq) return;
    this.loadTask = isAbort(e) ? { status: 'cancelled' } : { status: 'error', error: describeError(e) };
  }

  /**
   * Send bytes to the worker. A failed load keeps the previous model (the worker does too). A
   * successful one always becomes the shown model, even if a newer load started meanwhile: the
   * worker now holds it, and the newer load replaces it in order.
   */
  private async loadBytes(request: LoadRequest, seq = this.beginLoad('Loading…')): Promise<void> {
    this.loadTask = { status: 'running', phase: `Parsing ${request.modelName} and uploading weights…` };
    const t0 = performance.now();
    try {
      const model = await this.client.load(request);
      this.model = model;
      this.backend = model.backend;
      this.lastRequest = request;
      this.nextTask = idle();
      this.lossTask = idle();
      this.genTask = idle();
      this.nextRows = [];
      this.lossRows = [];
      this.genText = '';
      if (seq === this.loadSeq) this.loadTask = { status: 'done', ms: performance.now() - t0 };
    } catch (e) {
      this.failLoad(seq, e);
    }
  }
}

function clampInt(v: number, lo: number, hi: number): number {
  const n = Math.round(Number(v));
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : lo;
}
