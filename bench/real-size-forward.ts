/**
 * bench/real-size-forward: peak memory and time of loading a real-sized checkpoint and running one
 * 512-token forward on the CPU backend.
 *
 * Two checkpoints with random weights are written to a temp folder (nothing is committed or
 * downloaded): a GPT-2-small-shaped GPT2LMHeadModel (12 × 768, vocab 50257, F32, the real tensor
 * names including the `attn.bias` mask buffers) and a Qwen3-0.6B-shaped Qwen3ForCausalLM with one
 * layer (hidden 1024, 16 heads, 8 kv heads, head_dim 128, intermediate 3072, vocab 151936, tied,
 * BF16). Each (shape, loader) pair then runs in a FRESH child process, so the peak RSS belongs to
 * one model: the process baseline is taken after the imports and a full GC, the peak is the
 * kernel's high-water mark (`resourceUsage().maxRSS`) after the load and after the forward.
 *
 * Loaders ("modes"), measured in the same run:
 * - `memory`: the whole file read into memory, parsed, mapped, uploaded with copies (the browser's
 *   path, and the only one before the lean loader);
 * - `lean`: each tensor read from the file handle on demand, the CPU backend adopting the arrays
 *   (`LlamaModel.load(…, { transfer: true })`);
 * - `lean-wasm`: `lean` with the WebAssembly kernels (what the CLI runs): their packed weights
 *   (`wasm_packed_bytes`; 16-bit weights stay 16-bit there too) count in the peak.
 *
 * Prints one JSON line: per shape and mode the weight bytes (as stored, as held: 16-bit matrices
 * stay 16-bit, and as they would be in float32), the logits' bytes, peak RSS above the baseline
 * after the load and after the forward, their ratios to the held weight bytes (and to the float32
 * size), and the load and forward times; `lean_over_memory` compares the peaks.
 *
 *   npm run bench:real-size [-- --shapes gpt2,qwen3 --modes memory,lean,lean-wasm --threads 1 --tokens 512 --keep]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import vm from 'node:vm';
import v8 from 'node:v8';
import { createCpuBackend } from '../kernels/cpu-backend';
import { loadWasmKernels } from '../kernels/wasm/wasm-kernels';
import { cpu } from '../kernels/cpu-tensor';
import { hfCheckpoint } from '../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../runtime/formats/hf-config';
import { parseSafetensors } from '../runtime/formats/safetensors';
import { readHfCheckpoint } from '../runtime/formats/safetensors-node';
import { LlamaModel } from '../runtime/model/llama';
import { countParameters } from '../runtime/model/llama-config';
import { rng, writeRealSizeModel, type Shape } from './real-size-checkpoints';

type Mode = 'memory' | 'lean' | 'lean-wasm';

const { values: f } = parseArgs({
  options: {
    shapes: { type: 'string', default: 'gpt2,qwen3' },
    modes: { type: 'string', default: 'memory,lean' },
    tokens: { type: 'string', default: '512' },
    keep: { type: 'boolean', default: false },
    dir: { type: 'string' },
    // Internal: run one measurement in this (child) process.
    child: { type: 'string' },
    mode: { type: 'string' },
    threads: { type: 'string', default: '1' },
  },
});

// ---- One measurement (child process) ----

function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function measure(dir: string, mode: Mode, nTokens: number): Promise<Record<string, unknown>> {
  collectGarbage();
  const baseline = process.memoryUsage().rss;
  const configPath = path.join(dir, 'config.json');
  const weightsPath = path.join(dir, 'model.safetensors');
  const wasm = mode === 'lean-wasm' ? await loadWasmKernels({ threads: Number(f.threads) }) : undefined;
  if (mode === 'lean-wasm' && !wasm) throw new Error('lean-wasm: this Node has no WebAssembly SIMD');
  const inner = createCpuBackend(wasm ? { wasm } : {});
  // Weight bytes the backend holds: every weight goes through weightTensor (16-bit stays 16-bit).
  let held = 0;
  const backend = {
    ...inner,
    weightTensor: (...a: Parameters<typeof inner.weightTensor>) => {
      const t = inner.weightTensor(...a);
      held += t.size * (t.dtype === 'f32' ? 4 : 2);
      return t;
    },
  };

  const t0 = performance.now();
  let model: LlamaModel;
  let stored: string[];
  if (mode === 'memory') {
    const parsed = parseHfConfig(readFileSync(configPath), 'config.json');
    const bytes = readFileSync(weightsPath);
    const ckpt = hfCheckpoint(parsed, [parseSafetensors(bytes, 'model.safetensors')]);
    stored = [...ckpt.storedDtypes];
    model = LlamaModel.load(backend, ckpt);
  } else {
    const ckpt = readHfCheckpoint(configPath, [weightsPath]);
    stored = [...ckpt.storedDtypes];
    model = LlamaModel.load(backend, ckpt, { transfer: true });
  }
  const loadMs = performance.now() - t0;
  const loadPeak = maxRssBytes() - baseline;
  collectGarbage();
  const afterLoad = process.memoryUsage().rss - baseline;

  const c = model.config;
  const r = rng(7);
  const tokens = Int32Array.from({ length: nTokens }, () => Math.floor(r() * c.vocabSize));
  const t1 = performance.now();
  const logits = await model.forward(tokens);
  const forwardMs = performance.now() - t1;
  const forwardPeak = maxRssBytes() - baseline;
  const data = cpu(logits).data;
  let finite = true;
  for (let i = 0; i < data.length; i += 997) if (!Number.isFinite(data[i]!)) finite = false;

  const params = countParameters(c);
  const precision = model.weightPrecision.path;
  return {
    params,
    stored_dtypes: stored,
    weights: precision,
    weight_bytes_held: held,
    ...(wasm ? { wasm_packed_bytes: wasm.bytesInUse, wasm_kernels: wasm.description } : {}),
    weight_bytes_as_f32: params * 4,
    logits_bytes: nTokens * c.vocabSize * 4,
    baseline_rss: baseline,
    load: {
      ms: Math.round(loadMs),
      peak_rss: loadPeak,
      peak_over_weights: +(loadPeak / held).toFixed(3),
      peak_over_f32_weights: +(loadPeak / (params * 4)).toFixed(3),
      rss_after_gc: afterLoad,
    },
    forward: {
      tokens: nTokens,
      ms: Math.round(forwardMs),
      peak_rss: forwardPeak,
      peak_over_weights: +(forwardPeak / held).toFixed(3),
      peak_over_f32_weights: +(forwardPeak / (params * 4)).toFixed(3),
      finite,
    },
  };
}

if (f.child) {
  const out = await measure(f.child, f.mode as Mode, Number(f.tokens));
  console.log(JSON.stringify(out));
  process.exit(0);
}

// ---- The parent: write the checkpoints, one child per (shape, mode) ----

const shapes = f.shapes!.split(',') as Shape[];
const modes = f.modes!.split(',') as Mode[];
const root = f.dir ?? mkdtempSync(path.join(os.tmpdir(), 'sparsebook-real-size-'));
const result: Record<string, unknown> = {
  bench: 'real-size-forward',
  backend: 'cpu',
  node: process.version,
  cpus: os.cpus().length,
};
try {
  for (const shape of shapes) {
    const dir = path.join(root, shape);
    const { fileBytes, storedBytes } = writeRealSizeModel(shape, dir);
    const entry: Record<string, unknown> = { file_bytes: fileBytes, weight_bytes_stored: storedBytes };
    for (const mode of modes) {
      const child = spawnSync(
        process.execPath,
        [
          ...process.execArgv,
          import.meta.filename,
          ...['--child', dir, '--mode', mode, '--tokens', f.tokens!, '--threads', f.threads!],
        ],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      const line = child.stdout.trim().split('\n').pop() ?? '';
      if (child.status !== 0 || !line.startsWith('{')) {
        entry[mode] = {
          error: `exit ${child.status}: ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        };
        continue;
      }
      const m = JSON.parse(line) as Record<string, unknown>;
      entry[mode] = m;
    }
    const mem = entry.memory as { load?: { peak_rss: number }; forward?: { peak_rss: number } } | undefined;
    const lean = entry.lean as typeof mem;
    if (mem?.load && lean?.load) {
      entry.lean_over_memory = {
        load_peak: +(lean.load.peak_rss / mem.load.peak_rss).toFixed(3),
        forward_peak: +(lean.forward!.peak_rss / mem.forward!.peak_rss).toFixed(3),
      };
    }
    result[shape] = entry;
    if (!f.keep) rmSync(dir, { recursive: true, force: true });
  }
} finally {
  if (!f.keep && !f.dir) rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(0);
