import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Backend } from '../kernels/backend';
import { createCpuBackend, createFastCpuBackend } from '../kernels/cpu-backend';
import { createWebGpuBackend } from '../kernels/webgpu-backend';
import { loadHfModel, loadLlama2c, loadModelFiles, modelPlanFiles, planModelFiles } from '../runtime';
import type { SafetensorsFile } from '../runtime/formats/safetensors';
import { openSafetensorsFile } from '../runtime/formats/safetensors-node';
import type { ModelFilePlan } from '../runtime/formats/model-files';
import { decodeUtf8Strict } from '../runtime/text';
import { formatHubId, isHubId, parseHubId } from '../runtime/sources/hub-id';
import { UsageError } from './args';
import { resolveHubModel } from './hub-cache';
import { useFileTuneStore } from './matmul-tune-store';
import { nodeGpu } from './node-gpu';
import { autotuneLoaded } from '../runtime/model/autotune';

/**
 * The backend of a command: WebGPU through Dawn, or the CPU with its WebAssembly kernels on
 * SPARSEBOOK_CPU_THREADS threads (default: the machine's available parallelism), or with
 * SPARSEBOOK_CPU_KERNELS=typescript the TypeScript reference kernels alone.
 */
export async function createBackend(kind: 'cpu' | 'webgpu'): Promise<Backend> {
  // SPARSEBOOK_CPU_KERNELS=typescript: the reference kernels alone (checks, before/after benches).
  if (kind === 'cpu' && process.env.SPARSEBOOK_CPU_KERNELS === 'typescript') return createCpuBackend();
  if (kind === 'cpu') return createFastCpuBackend({ threads: cpuThreads() });
  useFileTuneStore(); // matmul kernels autotuned on this adapter before (kernels/matmul-autotune.ts)
  return createWebGpuBackend(await nodeGpu());
}

/** SPARSEBOOK_CPU_THREADS as a thread count, or undefined (the default) when unset. */
export function cpuThreads(): number | undefined {
  const v = process.env.SPARSEBOOK_CPU_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`SPARSEBOOK_CPU_THREADS must be a positive integer, got '${v}'`);
  return n;
}

export async function readBytes(file: string): Promise<ArrayBuffer> {
  try {
    const b = await readFile(file);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read file (${code ?? (e as Error).message})`);
  }
}

/** Read a text file as strict UTF-8 (invalid bytes are an error naming the file). */
export async function readText(file: string): Promise<string> {
  return decodeUtf8Strict(new Uint8Array(await readBytes(file)), path.basename(file));
}

/**
 * Load a model onto a backend: `model` is a hub id (`hf:ORG/NAME[@REV]`, fetched into the cache
 * through HF_ENDPOINT with HF_TOKEN for gated models), a folder (HF-style: config.json + model.safetensors +
 * tokenizer.json [+ tokenizer_config.json] or tokenizer.bin, or a llama2.c checkpoint with its
 * tokenizer) or a llama2.c checkpoint file, which then needs `tokenizer`. Only the files that make
 * up the model are read; `tokenizerFiles` are the paths of the tokenizer's files.
 *
 * @example
 * const { model, tokenizer, info } = await loadModel('cpu', 'public/models/sparsebook-moe-micro');
 */
export async function loadModel(
  backendKind: 'cpu' | 'webgpu',
  model: string,
  tokenizer?: string,
): Promise<Awaited<ReturnType<typeof loadLocalModel>>> {
  const loaded = await loadUntuned(backendKind, model, tokenizer);
  // On a real GPU the model's matmul shapes are tuned once per adapter (a no-op on the CPU and
  // on SwiftShader); SPARSEBOOK_AUTOTUNE=0 keeps the fixed kernel rule (benchmarks that time it).
  if (process.env.SPARSEBOOK_AUTOTUNE !== '0')
    await autotuneLoaded(loaded.model, loaded.tokenizer.documentToken, (e) =>
      console.error(`matmul autotune skipped: ${e instanceof Error ? e.message : String(e)}`),
    );
  return loaded;
}

async function loadUntuned(backendKind: 'cpu' | 'webgpu', model: string, tokenizer?: string) {
  if (!isHubId(model)) return loadLocalModel(backendKind, model, tokenizer);
  if (tokenizer !== undefined) {
    throw new UsageError(`--tokenizer is only for a checkpoint file; the hub model ${model} brings its own`);
  }
  const id = parseHubId(model);
  // HF_TOKEN goes into a request header only: never into a message, a log line or the cache.
  const token = process.env.HF_TOKEN || undefined;
  const dir = await resolveHubModel(id, { ...(token ? { token } : {}), log: (line) => console.error(line) });
  return { ...(await loadLocalModel(backendKind, dir)), source: formatHubId(id) };
}

async function loadLocalModel(backendKind: 'cpu' | 'webgpu', model: string, tokenizer?: string) {
  const kind = await stat(model).then(
    (s) => (s.isDirectory() ? 'dir' : 'file'),
    (e: NodeJS.ErrnoException) => e.code ?? 'unreadable',
  );
  if (kind !== 'dir' && kind !== 'file')
    throw new Error(`${model}: cannot read model file or folder (${kind})`);
  const isDir = kind === 'dir';
  let files: string[];
  let source: string;
  if (isDir) {
    if (tokenizer !== undefined) {
      throw new UsageError(
        `--tokenizer is only for a checkpoint file; the folder ${model} brings its own tokenizer`,
      );
    }
    source = path.basename(path.resolve(model));
    const names = (await readdir(model, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name);
    const plan = planModelFiles(names, source);
    if (plan.format === 'hf') {
      const tokenizerFiles = [plan.tokenizer, ...(plan.tokenizerConfig ? [plan.tokenizerConfig] : [])];
      return {
        ...(await loadHfFolder(backendKind, model, plan)),
        source,
        tokenizerFiles: tokenizerFiles.map((n) => path.join(model, n)),
      };
    }
    files = modelPlanFiles(plan).map((n) => path.join(model, n));
  } else {
    if (tokenizer === undefined) {
      throw new UsageError(
        `missing --tokenizer (needed with the checkpoint file ${model}; or pass a model folder)`,
      );
    }
    source = path.basename(model);
    files = [model, tokenizer];
  }
  const bytes = await Promise.all(files.map(readBytes));
  const backend = await createBackend(backendKind);
  const names = files.map((f) => path.basename(f));
  // A checkpoint and tokenizer given as files are a llama2.c pair whatever their names.
  const loaded = isDir
    ? loadModelFiles(
        backend,
        names.map((name, i) => ({ name, bytes: bytes[i]! })),
        { source },
      )
    : loadLlama2c(backend, bytes[0]!, names[0]!, bytes[1]!, names[1]!);
  // The tokenizer's own files, for writers that copy them beside a derived model (prune --out).
  return { backend, ...loaded, source, tokenizerFiles: [files[1]!] };
}

type HfModelFilePlan = Extract<ModelFilePlan, { format: 'hf' }>;

/**
 * An HF folder, lean: the weights are read tensor by tensor from their files (never whole into
 * memory) and each array becomes the backend's tensor (`transfer`), so the process holds about one
 * copy of the weights; the small files are read whole.
 */
async function loadHfFolder(backendKind: 'cpu' | 'webgpu', dir: string, plan: HfModelFilePlan) {
  const small = async (name: string) => new Uint8Array(await readBytes(path.join(dir, name)));
  const [config, tokenizerBytes, tokenizerConfig] = await Promise.all([
    small(plan.config),
    small(plan.tokenizer),
    plan.tokenizerConfig ? small(plan.tokenizerConfig) : undefined,
  ]);
  const backend = await createBackend(backendKind);
  const weights: SafetensorsFile[] = [];
  try {
    for (const w of plan.weights) weights.push(openSafetensorsFile(path.join(dir, w), w));
    const loaded = loadHfModel(
      backend,
      { config, weights, tokenizer: tokenizerBytes, ...(tokenizerConfig ? { tokenizerConfig } : {}) },
      plan,
      { transfer: true },
    );
    return { backend, ...loaded, format: plan.format, plan };
  } finally {
    for (const w of weights) w.close();
  }
}
