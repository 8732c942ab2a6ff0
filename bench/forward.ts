/**
 * bench/forward: tokens/s of one full-window forward pass (default 512 tokens of stories260K) on
 * each backend, measured in the same run; prints one JSON line with the webgpu/cpu ratio.
 *
 * With `--peer ort`, onnxruntime-web runs the same tokens through the model's ONNX export
 * (tools/onnx) on its wasm EP (`--ort-threads`, default `--threads`: the thread count of
 * Sparsebook's CPU backend) and its webgpu EP (on the same Dawn adapter), and the line ends with
 * `"ratios":{"cpu_over_ort_wasm":…,"webgpu_over_ort_webgpu":…},"oracle_max_abs_diff":…`
 * (ratio = our tokens/s ÷ theirs; the diff is the largest |logit| difference between Sparsebook's
 * CPU backend and ORT wasm). An engine that cannot run here (no adapter, an EP that fails to start)
 * is recorded with its error, and its ratio is null with the reason in `ratio_reasons`.
 *
 * `--model gpt2-small` writes a GPT-2-small-shaped checkpoint with seeded random weights
 * (bench/real-size-checkpoints.ts) to a temp folder and feeds seeded random token ids. Each
 * engine's entry carries `process_peak_rss_mb`: the process's RSS high-water mark above the
 * baseline taken after the imports; the first engine (cpu) is alone in it, so its figure is the
 * peak of loading the model and running its forward.
 *
 * The CPU backend runs its WebAssembly kernels on `--threads` threads (default: the machine's
 * available parallelism); backend `cpu-ts` is the same backend with the TypeScript reference
 * kernels only (the CPU path before WebAssembly), and `cpu_over_cpu_ts` their ratio.
 *
 *   npm run bench:forward -- [--model M|gpt2-small --tokenizer T --tokens 512 --reps 3 --warmup 1]
 *     [--backends cpu,cpu-ts,webgpu] [--threads N] [--no-autotune] [--peer ort --ort-eps wasm,webgpu --ort-threads N]
 *
 * On WebGPU the model's matmuls are autotuned first (runtime/model/autotune.ts; choices cached
 * per adapter in $SPARSEBOOK_CACHE/matmul-tune.json; skipped on CPU emulations); `--no-autotune`
 * keeps the fixed kernel rule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Backend } from '../kernels/backend';
import { nodeGpu } from '../cli/node-gpu';
import { createBackend, loadModel, readText } from '../cli/session';
import { buildTokenStream } from '../runtime';
import { readHfCheckpoint } from '../runtime/formats/safetensors-node';
import { autotuneModel, autotuneSummary } from '../runtime/model/autotune';
import { LlamaModel } from '../runtime/model/llama';
import { exportGraph } from '../tools/onnx/export';
import { ortSession, type OrtEp } from '../tools/onnx/ort';
import { rng, writeRealSizeModel } from './real-size-checkpoints';

const shared = process.env.SPARSEBOOK_SHARED ?? path.resolve(import.meta.dirname, '../../shared');
const { values: f } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models/stories260K/stories260K.bin') },
    tokenizer: { type: 'string', default: path.join(shared, 'models/stories260K/tok512.bin') },
    text: { type: 'string', default: path.join(shared, 'data/tinystories-valid-1000.txt') },
    tokens: { type: 'string', default: '512' },
    reps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    backends: { type: 'string', default: 'cpu,webgpu' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    peer: { type: 'string' },
    'ort-eps': { type: 'string', default: 'wasm,webgpu' },
    'ort-threads': { type: 'string' },
    autotune: { type: 'boolean', default: true },
  },
});
if (f.peer !== undefined && f.peer !== 'ort') throw new Error(`--peer ${f.peer}: the only peer is ort`);
const reps = Number(f.reps);
const warmup = Number(f.warmup);
const threads = Number(f.threads);
if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads ${f.threads}: need ≥ 1`);
const ortThreads = Number(f['ort-threads'] ?? threads);
if (!(reps >= 1) || !(warmup >= 0))
  throw new Error(`--reps ${f.reps} --warmup ${f.warmup}: need ≥ 1 and ≥ 0`);
if (!Number.isInteger(ortThreads) || ortThreads < 1) throw new Error(`--ort-threads ${ortThreads}: need ≥ 1`);
type Kind = 'cpu' | 'cpu-ts' | 'webgpu';
const backends = f.backends!.split(',').filter(Boolean) as Kind[];
for (const b of backends) {
  if (b !== 'cpu' && b !== 'cpu-ts' && b !== 'webgpu') throw new Error(`--backends: unknown ${b}`);
}
const ortEps = f.peer === 'ort' ? f['ort-eps']!.split(',').filter(Boolean) : [];
for (const e of ortEps) if (e !== 'wasm' && e !== 'webgpu') throw new Error(`--ort-eps: unknown ${e}`);

// ---- Memory: the RSS high-water mark above a baseline taken after the imports ----

v8.setFlagsFromString('--expose-gc');
(vm.runInNewContext('gc') as () => void)();
const baselineRss = process.memoryUsage().rss;
const peakRssMb = () => +((process.resourceUsage().maxRSS * 1024 - baselineRss) / 2 ** 20).toFixed(1);

/** Best of `reps` timed runs after `warmup` untimed ones (compilation and pool growth are one-time). */
async function timeBest(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return Math.min(...times);
}

const rate = (n: number, ms: number) => ({
  tokens: n,
  ms: +ms.toFixed(1),
  tokens_per_s: +((n / ms) * 1000).toFixed(1),
});

/** Each engine's entry on stderr as it finishes (long runs; stdout keeps the one JSON line). */
const progress = (name: string) => console.error(`${name}: ${JSON.stringify(result[name])}`);

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);

// ---- The model and its tokens ----

const synthetic = f.model === 'gpt2-small';
let modelPath = f.model!;
let tmp: string | undefined;
if (synthetic) {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-forward-'));
  modelPath = path.join(tmp, 'gpt2-small');
  writeRealSizeModel('gpt2', modelPath);
}
const text = synthetic ? undefined : await readText(f.text!);

async function load(kind: Kind): Promise<{ backend: Backend; model: LlamaModel; tokens: number[] }> {
  // The CLI's backend choice (cli/session.ts), told the threads and kernels by its variables.
  process.env.SPARSEBOOK_CPU_THREADS = String(threads);
  process.env.SPARSEBOOK_CPU_KERNELS = kind === 'cpu-ts' ? 'typescript' : '';
  // The bench tunes (or not, --no-autotune) and times that itself.
  process.env.SPARSEBOOK_AUTOTUNE = '0';
  if (!synthetic) {
    const loaded = await loadModel(kind === 'webgpu' ? 'webgpu' : 'cpu', modelPath, f.tokenizer);
    const { backend, model, tokenizer } = loaded;
    const n = Math.min(Number(f.tokens), model.config.seqLen);
    return { backend, model, tokens: Array.from(buildTokenStream(tokenizer, text!).tokens.slice(0, n)) };
  }
  const backend = await createBackend(kind === 'webgpu' ? 'webgpu' : 'cpu');
  const ckpt = readHfCheckpoint(path.join(modelPath, 'config.json'), [
    path.join(modelPath, 'model.safetensors'),
  ]);
  const model = LlamaModel.load(backend, ckpt, { transfer: true });
  const n = Math.min(Number(f.tokens), model.config.seqLen);
  const r = rng(7);
  return {
    backend,
    model,
    tokens: Array.from({ length: n }, () => Math.floor(r() * model.config.vocabSize)),
  };
}

// ---- Sparsebook's backends ----

const result: Record<string, unknown> = {
  bench: 'forward',
  model: synthetic ? 'gpt2-small (random weights, 124M parameters)' : path.basename(modelPath),
  node: process.version,
  cpus: os.cpus().length,
};
let benchTokens: number[] | undefined;
let cpuLogits: Float32Array | undefined;
/** WebGPU's logits, kept only when the CPU backend did not run (then ORT is compared with these). */
let gpuLogits: Float32Array | undefined;
try {
  for (const kind of backends) {
    try {
      const { backend, model, tokens } = await load(kind);
      benchTokens ??= tokens;
      // WebGPU: tune this model's matmul shapes on this adapter first (cached per adapter; a
      // CPU emulation is not tuned), as a real session would.
      const t0 = performance.now();
      const tuned =
        kind === 'webgpu' && f.autotune
          ? await autotuneModel(model, tokens, { reps: 2 }).then((r) =>
              r.length
                ? { ms: Math.round(performance.now() - t0), ...autotuneSummary(r) }
                : { skipped: 'CPU emulation: fixed kernel rule' },
            )
          : undefined;
      const best = await timeBest(async () => {
        const logits = await model.forward(tokens);
        const values = await backend.read(logits);
        // Copies: the pool may reuse the buffers.
        if (kind === 'cpu') cpuLogits = Float32Array.from(values as Float32Array);
        else if (!backends.includes('cpu')) gpuLogits = Float32Array.from(values as Float32Array);
        backend.dispose(logits);
      });
      result[kind] = {
        device: backend.description,
        ...(kind === 'cpu' ? { threads } : kind === 'cpu-ts' ? { threads: 1 } : {}),
        ...rate(tokens.length, best),
        process_peak_rss_mb: peakRssMb(),
        ...(tuned ? { autotune: tuned } : {}),
      };
      progress(kind);
      model.dispose();
      backend.destroy();
    } catch (e) {
      result[kind] = { error: message(e) };
    }
  }
  const tps = (name: string) => (result[name] as { tokens_per_s?: number } | undefined)?.tokens_per_s;
  if (tps('cpu') && tps('webgpu')) result.webgpu_over_cpu = +(tps('webgpu')! / tps('cpu')!).toFixed(3);
  if (tps('cpu') && tps('cpu-ts')) result.cpu_over_cpu_ts = +(tps('cpu')! / tps('cpu-ts')!).toFixed(3);

  // ---- onnxruntime-web on the same tokens ----

  if (f.peer === 'ort') {
    if (!benchTokens) throw new Error('--peer ort needs at least one Sparsebook backend for the tokens');
    const graph = exportGraph(modelPath, benchTokens.length);
    const diffs: Record<string, number> = {};
    for (const ep of ortEps as OrtEp['ep'][]) {
      const name = `ort_${ep}`;
      try {
        const how: OrtEp = ep === 'wasm' ? { ep, threads: ortThreads } : { ep, gpu: await nodeGpu() };
        const session = await ortSession(graph, how);
        let logits: Float32Array | undefined;
        const best = await timeBest(async () => (logits = await session.run(benchTokens!)));
        await session.release();
        result[name] = {
          ep,
          ...(how.ep === 'wasm' ? { threads: how.threads } : {}),
          ...rate(benchTokens.length, best),
          process_peak_rss_mb: peakRssMb(),
        };
        progress(name);
        if (cpuLogits) diffs[name] = maxAbsDiff(cpuLogits, logits!);
        else if (gpuLogits) diffs[`${name}_vs_webgpu`] = maxAbsDiff(gpuLogits, logits!);
      } catch (e) {
        result[name] = { ep, error: message(e) };
      }
    }
    const reasons: Record<string, string> = {};
    const ratio = (key: string, ours: string, theirs: string) => {
      const why = [ours, theirs]
        .map((n) => {
          const r = result[n] as { error?: string } | undefined;
          return !r ? `${n} not run` : r.error ? `${n}: ${r.error}` : undefined;
        })
        .filter(Boolean);
      if (why.length === 0) return +(tps(ours)! / tps(theirs)!).toFixed(3);
      reasons[key] = why.join('; ');
      return null;
    };
    const ratios = {
      cpu_over_ort_wasm: ratio('cpu_over_ort_wasm', 'cpu', 'ort_wasm'),
      webgpu_over_ort_webgpu: ratio('webgpu_over_ort_webgpu', 'webgpu', 'ort_webgpu'),
    };
    if (diffs.ort_webgpu !== undefined) result.ort_webgpu_max_abs_diff = +diffs.ort_webgpu.toExponential(2);
    if (diffs.ort_webgpu_vs_webgpu !== undefined)
      result.webgpu_vs_ort_webgpu_max_abs_diff = +diffs.ort_webgpu_vs_webgpu.toExponential(2);
    if (Object.keys(reasons).length > 0) result.ratio_reasons = reasons;
    result.ratios = ratios;
    result.oracle_max_abs_diff = diffs.ort_wasm === undefined ? null : +diffs.ort_wasm.toExponential(2);
  }
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`logits of ${a.length} and ${b.length} values`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN makes the max NaN
  }
  return m;
}

console.log(JSON.stringify(result));
process.exit(0);
