/**
 * The soak: in ONE page of the built app (headless Chromium, WebGPU on SwiftShader), round after
 * round, open a new default notebook (bundled dense model, text, model view), add a text cell with
 * a longer corpus excerpt, an SAE cell (training for a set number of steps) and a pruning sweep
 * cell, load the model, Run all, then leave it for the next new notebook (which must unload the
 * model in the worker) and measure, after a forced GC in the page and in the worker: the JS
 * heap used in each (CDP `Runtime.getHeapUsage`), what of it is compiled code and what JS objects
 * (a heap snapshot of each), ArrayBuffers, pending promise reactions, and the worker's GPU buffer
 * pool (live and idle buffers and bytes: `sparsebookMemory()` in the worker, workers/memory-stats.ts).
 * The worker has no CDP session of its own in playwright-core: the page's session auto-attaches
 * to it (non-flat) and talks to it through `Target.sendMessageToTarget`.
 *
 * No vitest here: test/e2e/soak.test.ts asserts on the samples and bench/soak.ts (`npm run soak`)
 * prints them. Chromium runs with --expose-gc (gc() in page and worker) and precise memory info.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { chromium, type Browser, type CDPSession, type Page, type Worker } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium';
import type { RuntimeMemoryStats } from '../../workers/memory-stats';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SoakConfig {
  rounds: number;
  /** SAE cell: training steps, batch and held-out windows. */
  saeSteps: number;
  saeBatch: number;
  /** Pruning sweep cell: methods kept checked (of magnitude, wanda, sparsegpt), patterns, sparsities. */
  methods: readonly string[];
  patterns: readonly string[];
  sparsities: string;
  /** Longest a round may take before the soak fails (ms). */
  roundTimeoutMs: number;
}

export const FULL_SOAK: SoakConfig = {
  rounds: 20,
  saeSteps: 100,
  saeBatch: 64,
  methods: ['magnitude', 'wanda'],
  patterns: ['unstructured', '2:4'],
  sparsities: '0.3, 0.5',
  roundTimeoutMs: 300_000,
};

/** One measurement, taken after the round's cells were deleted and GC ran. */
export interface SoakSample {
  round: number;
  /** Wall time of the round's work (ms), measurement excluded. */
  ms: number;
  /** JS heap used in the page and in the runtime worker (bytes, after GC: `Runtime.getHeapUsage`). */
  pageHeap: number;
  workerHeap: number;
  /**
   * What of it is V8's compiled code and code metadata (bytecode, optimised code, feedback: heap
   * snapshot nodes of type `code`), which grows for about ten rounds as hot functions tier up.
   */
  pageCode: number;
  workerCode: number;
  /**
   * Bytes of the JS values the heap holds (objects, arrays, closures, strings, numbers, …: heap
   * snapshot nodes of those types), i.e. without V8's code, hidden classes and other metadata:
   * what the app keeps.
   */
  pageObjects: number;
  workerObjects: number;
  /** ArrayBuffer backing stores (bytes) in the page and in the worker. */
  pageBacking: number;
  workerBacking: number;
  /** Closures and pending promise reactions (a promise that never settles collects these). */
  pageClosures: number;
  workerClosures: number;
  pageReactions: number;
  workerReactions: number;
  /** The worker's GPU buffer pool: buffers in use, and all bytes it holds (live + idle). */
  gpuLiveBuffers: number;
  gpuLiveBytes: number;
  gpuIdleBuffers: number;
  gpuBytes: number;
  pipelines: number;
  models: number;
  saes: number;
  pruningSweeps: number;
  /** Time of each step of the round (ms). */
  steps: Record<string, number>;
}

export interface SoakApp {
  baseUrl: string;
  browser: Browser;
  close(): Promise<void>;
}

/** Build the app into a temporary folder, serve it with `vite preview`, launch Chromium with GC. */
export async function startSoakApp(): Promise<SoakApp> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-soak-'));
  const configFile = path.join(repoRoot, 'vite.config.ts');
  const root = path.join(repoRoot, 'app');
  await build({ configFile, root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const server = await preview({
    configFile,
    root,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const address = server.httpServer.address() as AddressInfo;
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc', '--enable-precise-memory-info'],
    headless: true,
  });
  return {
    baseUrl: `http://127.0.0.1:${address.port}/`,
    browser,
    async close() {
      await browser.close();
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

interface HeapUsage {
  usedSize: number;
  totalSize: number;
  backingStorageSize?: number;
}

/**
 * CDP access to the page and its runtime worker. The worker has no session of its own in
 * playwright-core: the page's session auto-attaches to it and messages go through
 * `Target.sendMessageToTarget`.
 */
export class Probe {
  private workerSession: string | undefined;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private chunks: string[] = [];

  private constructor(
    readonly page: Page,
    private readonly cdp: CDPSession,
  ) {
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker' && /runtime\.worker/.test(e.targetInfo.url))
        this.workerSession = e.sessionId;
    });
    cdp.on('Target.detachedFromTarget', (e) => {
      if (e.sessionId === this.workerSession) this.workerSession = undefined;
    });
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const msg = JSON.parse(e.message) as {
        id?: number;
        method?: string;
        params?: { chunk: string };
        result?: unknown;
        error?: { message: string };
      };
      if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') this.chunks.push(msg.params!.chunk);
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
  }

  static async attach(page: Page): Promise<Probe> {
    const cdp = await page.context().newCDPSession(page);
    const probe = new Probe(page, cdp);
    await cdp.send('Target.setAutoAttach', {
      autoAttach: true,
      waitForDebuggerOnStart: false,
      flatten: false,
    });
    return probe;
  }

  /** The runtime worker (the newest, should the client have restarted it). */
  worker(): Worker {
    const w = this.page
      .workers()
      .filter((x) => /runtime\.worker/.test(x.url()))
      .at(-1);
    if (!w) throw new Error('no runtime worker in the page');
    return w;
  }

  private workerCdp<T>(method: string, params: object = {}): Promise<T> {
    const sessionId = this.workerSession;
    if (!sessionId) return Promise.reject(new Error('no CDP session on the runtime worker'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.cdp
        .send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
        .catch((e: Error) => {
          this.pending.delete(id);
          reject(e);
        });
    });
  }

  /**
   * Full GC in the page and the worker (gc() from --expose-gc), three times with a pause, so what
   * finalizers drop goes too and freed ArrayBuffers' backing stores are swept.
   */
  async gc(): Promise<void> {
    const worker = this.worker();
    for (let i = 0; i < 3; i++) {
      await this.page.evaluate(() => (globalThis as unknown as { gc(): void }).gc());
      await worker.evaluate(() => (globalThis as unknown as { gc(): void }).gc());
      await this.page.waitForTimeout(200);
    }
  }

  pageHeap(): Promise<HeapUsage> {
    return this.cdp.send('Runtime.getHeapUsage') as Promise<HeapUsage>;
  }

  workerHeap(): Promise<HeapUsage> {
    return this.workerCdp<HeapUsage>('Runtime.getHeapUsage');
  }

  /** A heap snapshot of the page or the worker, summarised by node type and constructor name. */
  async heapSummary(target: 'page' | 'worker'): Promise<HeapSummary> {
    return summariseSnapshot(await this.heapSnapshot(target));
  }

  /** A heap snapshot of the page or the worker (the JSON text). */
  async heapSnapshot(target: 'page' | 'worker'): Promise<string> {
    this.chunks = [];
    if (target === 'worker') {
      await this.workerCdp('HeapProfiler.enable');
      await this.workerCdp('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } else {
      const onChunk = (e: { chunk: string }) => this.chunks.push(e.chunk);
      this.cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
      await this.cdp.send('HeapProfiler.enable');
      await this.cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      this.cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
    }
    const json = this.chunks.join('');
    this.chunks = [];
    return json;
  }

  memory(): Promise<RuntimeMemoryStats> {
    return this.worker().evaluate(() =>
      (globalThis as unknown as { sparsebookMemory(): RuntimeMemoryStats }).sparsebookMemory(),
    );
  }
}

/**
 * The SAE's and sweep's text: the first 2,500 characters of each domain of the bundled models'
 * held-out corpus (public/models/corpus), about 10 windows of 256 tokens.
 */
function corpusText(): string {
  const dir = path.join(repoRoot, 'public/models/corpus');
  return ['literature', 'speeches', 'email', 'code']
    .map((d) => readFileSync(path.join(dir, `valid-${d}.txt`), 'utf8').slice(0, 2500))
    .join('\n<|endoftext|>\n');
}

/** Count and self size of the heap's nodes, keyed `type:name` (e.g. `object:Map`). */
export type HeapSummary = Map<string, { count: number; size: number }>;

function summariseSnapshot(json: string): HeapSummary {
  const snap = JSON.parse(json) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const out: HeapSummary = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + iType]!]!;
    let name = snap.strings[snap.nodes[i + iName]!]!;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'code' || type === 'hidden' || type === 'array') name = name.slice(0, 40);
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += snap.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

const REACTION = 'native:system / PromiseReaction';

/** Heap snapshot node types that are JS values (the rest is code, hidden classes, V8 internals). */
const JS_VALUE_TYPES = [
  'object',
  'closure',
  'array',
  'string',
  'concatenated string',
  'sliced string',
  'number',
  'symbol',
  'regexp',
  'bigint',
];

function jsValueBytes(summary: HeapSummary): number {
  return JS_VALUE_TYPES.reduce((sum, type) => sum + typeTotal(summary, type).size, 0);
}

/** Count and self size of every node of one snapshot type (`code`, `closure`, …). */
function typeTotal(summary: HeapSummary, type: string): { count: number; size: number } {
  const total = { count: 0, size: 0 };
  for (const [key, v] of summary) {
    if (key.startsWith(`${type}:`)) {
      total.count += v.count;
      total.size += v.size;
    }
  }
  return total;
}

const cells = (page: Page) => page.locator('article[data-cell-kind]');

/** Poll `read` every 100 ms until `done` holds; throw with the last value after `timeout` ms. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeout: number,
): Promise<T> {
  const end = Date.now() + timeout;
  let last: T;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > end)
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait for cell `index` (0-based) to be `status`; an error status throws with its message. */
async function waitCell(page: Page, index: number, status: string, timeout: number): Promise<void> {
  const cell = cells(page).nth(index);
  const got = await until(
    `cell ${index + 1} to be ${status}`,
    async () => cell.getAttribute('data-cell-status'),
    (s) => s === status || s === 'error',
    timeout,
  );
  if (got !== status) {
    const shown = await cell.getByTestId('error').allTextContents();
    throw new Error(`cell ${index + 1} is "${got}", expected "${status}": ${shown.join(' | ')}`);
  }
}

async function addCell(page: Page, title: string): Promise<void> {
  await page.getByRole('button', { name: 'Add cell' }).click();
  await page.getByRole('menuitem', { name: title, exact: true }).click();
}

async function setNumber(page: Page, index: number, name: string, value: string): Promise<void> {
  const input = cells(page).nth(index).getByRole('spinbutton', { name, exact: true });
  await input.fill(value);
  await input.blur();
}

/**
 * Open the app, wait for the first visit's default notebook to load its bundled model, then open
 * a new notebook (so the first sample has no model loaded), and return the page's probe.
 */
export async function openSoakPage(app: SoakApp): Promise<{ probe: Probe; errors: string[] }> {
  const context = await app.browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      errors.push(`console: ${m.text()}`);
  });
  const probe = await Probe.attach(page);
  await page.goto(app.baseUrl);
  const backend = page.getByTestId('backend-description');
  const text = await until(
    'the backend',
    async () => (await backend.textContent()) ?? '',
    (t) => !/starting/.test(t),
    60_000,
  );
  if (!/WebGPU/.test(text)) throw new Error(`the soak runs on WebGPU; the backend is "${text}"`);
  await waitCell(page, 1, 'done', 120_000);
  await newNotebook(page);
  return { probe, errors };
}

/**
 * Leave the open notebook for a new default one (Notebooks → New notebook), as a user starting
 * over does: the app must unload the models of the notebook it leaves.
 */
async function newNotebook(page: Page): Promise<void> {
  const before = await cells(page).nth(1).getAttribute('data-cell-id');
  await page.getByRole('button', { name: 'Notebooks' }).click();
  await page.getByRole('menuitem', { name: '+ New notebook' }).click();
  await until(
    'a new default notebook',
    async () => [await cells(page).count(), await cells(page).nth(1).getAttribute('data-cell-id')] as const,
    ([n, id]) => n === 4 && id !== before,
    30_000,
  );
}

/** GC, then read both heaps and the worker's counters once no model is loaded and no job runs. */
export async function measure(probe: Probe, round: number, ms: number, steps: Record<string, number>) {
  await until(
    'the worker to drop every model',
    () => probe.memory(),
    (m) => m.models === 0 && m.jobs === 0,
    30_000,
  );
  const t0 = performance.now();
  // Let the autosave of the round's edits (and the result cache's writes) finish first: their
  // IndexedDB work holds promises and buffers for a moment.
  const saveState = probe.page.getByTestId('save-state');
  await until(
    'the autosave',
    async () => (await saveState.textContent()) ?? '',
    (t) => !/Saving/.test(t),
    30_000,
  );
  await probe.page.waitForTimeout(1000);
  await probe.gc();
  const [page, worker, mem] = [await probe.pageHeap(), await probe.workerHeap(), await probe.memory()];
  const [pageSnap, workerSnap] = [await probe.heapSummary('page'), await probe.heapSummary('worker')];
  const gpu = mem.gpu;
  if (!gpu) throw new Error('the worker reports no GPU pool: is the backend WebGPU?');
  const pageCode = typeTotal(pageSnap, 'code').size;
  const workerCode = typeTotal(workerSnap, 'code').size;
  const sample: SoakSample = {
    round,
    ms: Math.round(ms),
    pageHeap: page.usedSize,
    workerHeap: worker.usedSize,
    pageCode,
    workerCode,
    pageObjects: jsValueBytes(pageSnap),
    workerObjects: jsValueBytes(workerSnap),
    pageBacking: page.backingStorageSize ?? 0,
    workerBacking: worker.backingStorageSize ?? 0,
    pageClosures: typeTotal(pageSnap, 'closure').count,
    workerClosures: typeTotal(workerSnap, 'closure').count,
    pageReactions: pageSnap.get(REACTION)?.count ?? 0,
    workerReactions: workerSnap.get(REACTION)?.count ?? 0,
    gpuLiveBuffers: gpu.liveBuffers,
    gpuLiveBytes: gpu.liveBytes,
    gpuIdleBuffers: gpu.idleBuffers,
    gpuBytes: gpu.liveBytes + gpu.idleBytes,
    pipelines: gpu.pipelines,
    models: mem.models,
    saes: mem.saes,
    pruningSweeps: mem.pruningSweeps,
    steps: { ...steps, measure: Math.round(performance.now() - t0) },
  };
  return sample;
}

/**
 * One round on a new default notebook (markdown, bundled model, text, model view; nothing loaded):
 * park the model cell on an empty URL (so the edits below load nothing), add a corpus text, SAE and
 * pruning sweep cells and set their parameters, load the bundled model, Run all, then leave the
 * notebook for a new one (which unloads the model in the worker).
 */
export async function soakRound(
  probe: Probe,
  config: SoakConfig,
): Promise<{ ms: number; steps: Record<string, number> }> {
  const page = probe.page;
  const t0 = performance.now();
  const steps: Record<string, number> = {};
  let mark = t0;
  const step = (name: string) => {
    const now = performance.now();
    steps[name] = Math.round(now - mark);
    mark = now;
  };
  const timeout = config.roundTimeoutMs;

  const model = cells(page).nth(1);
  // Parked: with no URL the model cell waits, so editing its readers below runs nothing.
  await model.getByRole('radio', { name: 'URLs' }).check();
  // The default sample text is a few sentences: the SAE and the sweep read a longer corpus text.
  await cells(page).nth(3).focus();
  await addCell(page, 'Text');
  const corpus = cells(page).nth(4).getByRole('textbox');
  await corpus.fill(corpusText());
  await corpus.blur();
  await addCell(page, 'SAE');
  await addCell(page, 'Pruning sweep');
  await until(
    'seven cells',
    () => cells(page).count(),
    (n) => n === 7,
    10_000,
  );
  await setNumber(page, 5, 'Held-out windows', '1');
  await setNumber(page, 5, 'Batch', String(config.saeBatch));
  await setNumber(page, 5, 'Steps', String(config.saeSteps));
  const sweep = cells(page).nth(6);
  await setNumber(page, 6, 'Eval windows', '1');
  await setNumber(page, 6, 'Calibration windows', '1');
  for (const method of ['magnitude', 'wanda', 'sparsegpt']) {
    await sweep
      .getByRole('checkbox', { name: method, exact: true })
      .setChecked(config.methods.includes(method));
  }
  for (const pattern of ['unstructured', '2:4']) {
    await sweep
      .getByRole('checkbox', { name: pattern, exact: true })
      .setChecked(config.patterns.includes(pattern));
  }
  await sweep.getByRole('textbox', { name: 'Sparsities' }).fill(config.sparsities);
  await sweep.getByRole('textbox', { name: 'Sparsities' }).blur();
  step('build');

  await model.getByRole('radio', { name: 'Bundled' }).check();
  await waitCell(page, 1, 'done', timeout);
  step('load');

  await page.getByRole('button', { name: 'Run all' }).click();
  await waitCell(page, 3, 'done', timeout);
  step('notebook');
  await waitCell(page, 5, 'done', timeout);
  step('sae');
  await waitCell(page, 6, 'done', timeout);
  step('sweep');
  for (let i = 1; i <= 6; i++) {
    const status = await cells(page).nth(i).getAttribute('data-cell-status');
    if (status !== 'done') throw new Error(`cell ${i + 1} is "${status}" after Run all`);
  }

  await newNotebook(page);
  step('release');
  return { ms: performance.now() - t0, steps };
}

/** Run `config.rounds` rounds; `onSample` gets round 0 (before any round) and each round's sample. */
export async function runSoak(
  app: SoakApp,
  config: SoakConfig,
  onSample: (s: SoakSample) => void = () => {},
): Promise<{ samples: SoakSample[]; errors: string[] }> {
  const { probe, errors } = await openSoakPage(app);
  const samples: SoakSample[] = [];
  const first = await measure(probe, 0, 0, {});
  samples.push(first);
  onSample(first);
  for (let round = 1; round <= config.rounds; round++) {
    const r = await soakRound(probe, config);
    const s = await measure(probe, round, r.ms, r.steps);
    samples.push(s);
    onSample(s);
  }
  await probe.page.context().close();
  return { samples, errors };
}

export interface SoakCheck {
  /** The round every ratio is taken against (1: the first round, which warms the caches). */
  baseline: number;
  /** Largest growth allowed, as a fraction of the baseline (0.1: 10 %). */
  tolerance: number;
  /** Pending promise reactions a round may add over the baseline's (in page and worker). */
  reactionSlack: number;
}

export const SOAK_CHECK: SoakCheck = { baseline: 1, tolerance: 0.1, reactionSlack: 4 };

const RATIOS = [
  'pageHeap',
  'workerHeap',
  'pageObjects',
  'workerObjects',
  'pageBacking',
  'workerBacking',
  'gpuBytes',
] as const;
type RatioKey = (typeof RATIOS)[number];
/** The ratios that must stay within the tolerance. */
const CHECKED = ['pageObjects', 'workerObjects', 'pageBacking', 'workerBacking', 'gpuBytes'] as const;

/**
 * Each round's ratios against the baseline round, and what fails: a round whose JS objects or
 * ArrayBuffers (page or worker) or GPU pool bytes are over 1 + tolerance of the baseline's, or
 * that added pending promise reactions, unless the next round is back under (a transient; the
 * last round has no next, so a leak always fails); and every round whose live GPU buffers differ
 * from round 0's (no model loaded) or that leaves a model, SAE or sweep in the worker. The raw heaps' ratios are reported, not
 * checked: they include V8's compiled code and its metadata, which grow for about ten rounds while
 * hot functions tier up (`pageCode`, `workerCode`) and then stay.
 */
export function checkSoak(samples: readonly SoakSample[], check: SoakCheck = SOAK_CHECK) {
  const base = samples.find((s) => s.round === check.baseline);
  const zero = samples.find((s) => s.round === 0);
  if (!base || !zero) throw new Error(`need the samples of rounds 0 and ${check.baseline}`);
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? 1 : Infinity) : a / b);
  const rounds = samples.filter((s) => s.round >= 1);
  const ratios = rounds.map((s) => {
    const r = { round: s.round } as { round: number } & Record<RatioKey, number>;
    for (const k of RATIOS) r[k] = Math.round(ratio(s[k], base[k]) * 1000) / 1000;
    return r;
  });
  // What each round has over its limit. A leak keeps it there; one round over and the next back
  // under is a transient (an IndexedDB write or a promise in flight when measured) and passes.
  const over = rounds.map((s, i) => {
    const out: string[] = [];
    for (const k of CHECKED) {
      if (ratios[i]![k] > 1 + check.tolerance)
        out.push(`${k} ${s[k]} is ${ratios[i]![k]}× round ${base.round}'s`);
    }
    for (const k of ['pageReactions', 'workerReactions'] as const) {
      if (s[k] > base[k] + check.reactionSlack) out.push(`${k} ${s[k]}, round ${base.round} had ${base[k]}`);
    }
    return out;
  });
  const failures: string[] = [];
  rounds.forEach((s, i) => {
    const next = over[i + 1];
    for (const what of over[i]!) {
      const key = what.split(' ')[0]!;
      if (!next || next.some((w) => w.startsWith(`${key} `))) failures.push(`round ${s.round}: ${what}`);
    }
    // Exact, every round: the GPU buffers of round 0 and nothing kept in the worker.
    if (s.gpuLiveBuffers !== zero.gpuLiveBuffers)
      failures.push(
        `round ${s.round}: ${s.gpuLiveBuffers} live GPU buffers, round 0 had ${zero.gpuLiveBuffers}`,
      );
    if (s.models + s.saes + s.pruningSweeps > 0)
      failures.push(
        `round ${s.round}: the worker keeps ${s.models} models, ${s.saes} SAEs, ${s.pruningSweeps} sweeps`,
      );
  });
  const max = Object.fromEntries(RATIOS.map((k) => [k, Math.max(...ratios.map((r) => r[k]))])) as Record<
    RatioKey,
    number
  >;
  return { ratios, max, failures };
}
