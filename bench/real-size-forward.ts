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
 *   (`LlamaModel.load(…, { transfer: true })`).
 *
 * Prints one JSON line: per shape and mode the weight bytes (as stored, as held: 16-bit matrices
 * stay 16-bit, and as they would be in float32), the logits' bytes, peak RSS above the baseline
 * after the load and after the forward, their ratios to the held weight bytes (and to the float32
 * size), and the load and forward times; `lean_over_memory` compares the peaks.
 *
 *   npm run bench:real-size [-- --shapes gpt2,qwen3 --modes memory,lean --tokens 512 --keep]
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import vm from 'node:vm';
import v8 from 'node:v8';
import { createCpuBackend } from '../kernels/cpu-backend';
import { cpu } from '../kernels/cpu-tensor';
import { hfCheckpoint } from '../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../runtime/formats/hf-config';
import { parseSafetensors } from '../runtime/formats/safetensors';
import { readHfCheckpoint } from '../runtime/formats/safetensors-node';
import {
  f32ToBf16Bits,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsDtype,
} from '../runtime/formats/safetensors-dtypes';
import { LlamaModel } from '../runtime/model/llama';
import { countParameters } from '../runtime/model/llama-config';

type Shape = 'gpt2' | 'qwen3';
type Mode = 'memory' | 'lean';

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
  },
});

// ---- The two checkpoints ----

interface TensorSpec {
  name: string;
  dtype: 'F32' | 'BF16';
  shape: number[];
  /** normal: N(0, 0.02)-like uniform; ones/zeros: norm weights and biases; mask: GPT-2's tril buffer. */
  init: 'normal' | 'ones' | 'zeros' | 'mask';
}

function gpt2Spec(): { config: object; tensors: TensorSpec[] } {
  const d = 768;
  const L = 12;
  const V = 50257;
  const P = 1024;
  const t = (name: string, shape: number[], init: TensorSpec['init'] = 'normal'): TensorSpec => ({
    name,
    dtype: 'F32',
    shape,
    init,
  });
  const tensors = [t('wte.weight', [V, d]), t('wpe.weight', [P, d])];
  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    tensors.push(
      t(`${p}ln_1.weight`, [d], 'ones'),
      t(`${p}ln_1.bias`, [d], 'zeros'),
      t(`${p}attn.bias`, [1, 1, P, P], 'mask'),
      t(`${p}attn.c_attn.weight`, [d, 3 * d]),
      t(`${p}attn.c_attn.bias`, [3 * d], 'zeros'),
      t(`${p}attn.c_proj.weight`, [d, d]),
      t(`${p}attn.c_proj.bias`, [d], 'zeros'),
      t(`${p}ln_2.weight`, [d], 'ones'),
      t(`${p}ln_2.bias`, [d], 'zeros'),
      t(`${p}mlp.c_fc.weight`, [d, 4 * d]),
      t(`${p}mlp.c_fc.bias`, [4 * d], 'zeros'),
      t(`${p}mlp.c_proj.weight`, [4 * d, d]),
      t(`${p}mlp.c_proj.bias`, [d], 'zeros'),
    );
  }
  tensors.push(t('ln_f.weight', [d], 'ones'), t('ln_f.bias', [d], 'zeros'));
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    n_embd: d,
    n_layer: L,
    n_head: 12,
    n_positions: P,
    n_ctx: P,
    n_inner: null,
    vocab_size: V,
    layer_norm_epsilon: 1e-5,
    bos_token_id: 50256,
    eos_token_id: 50256,
  };
  return { config, tensors };
}

function qwen3Spec(): { config: object; tensors: TensorSpec[] } {
  const d = 1024;
  const H = 16;
  const KV = 8;
  const hd = 128;
  const I = 3072;
  const V = 151936;
  const t = (name: string, shape: number[], init: TensorSpec['init'] = 'normal'): TensorSpec => ({
    name,
    dtype: 'BF16',
    shape,
    init,
  });
  const p = 'model.layers.0.';
  const tensors = [
    t('model.embed_tokens.weight', [V, d]),
    t(`${p}input_layernorm.weight`, [d], 'ones'),
    t(`${p}post_attention_layernorm.weight`, [d], 'ones'),
    t(`${p}self_attn.q_proj.weight`, [H * hd, d]),
    t(`${p}self_attn.k_proj.weight`, [KV * hd, d]),
    t(`${p}self_attn.v_proj.weight`, [KV * hd, d]),
    t(`${p}self_attn.o_proj.weight`, [d, H * hd]),
    t(`${p}self_attn.q_norm.weight`, [hd], 'ones'),
    t(`${p}self_attn.k_norm.weight`, [hd], 'ones'),
    t(`${p}mlp.gate_proj.weight`, [I, d]),
    t(`${p}mlp.up_proj.weight`, [I, d]),
    t(`${p}mlp.down_proj.weight`, [d, I]),
    t('model.norm.weight', [d], 'ones'),
  ];
  const config = {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    attention_bias: false,
    head_dim: hd,
    hidden_act: 'silu',
    hidden_size: d,
    intermediate_size: I,
    max_position_embeddings: 40960,
    max_window_layers: 28,
    num_attention_heads: H,
    num_hidden_layers: 1,
    num_key_value_heads: KV,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_sliding_window: false,
    vocab_size: V,
    bos_token_id: 151643,
    eos_token_id: 151645,
  };
  return { config, tensors };
}

const SPECS: Record<Shape, () => { config: object; tensors: TensorSpec[] }> = {
  gpt2: gpt2Spec,
  qwen3: qwen3Spec,
};

/** Seeded uniform [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Write a safetensors file tensor by tensor (the layout of runtime/formats/safetensors-write.ts:
 * larger elements first, then by name; header padded to 8 bytes), never holding more than one
 * chunk of data, so writing a 500 MB checkpoint takes no 500 MB buffer.
 */
function writeCheckpoint(file: string, tensors: readonly TensorSpec[], seed: number): number {
  const size = (t: TensorSpec) => t.shape.reduce((a, b) => a * b, 1);
  const bytesOf = (t: TensorSpec) => size(t) * SAFETENSORS_DTYPE_BYTES[t.dtype as SafetensorsDtype];
  const ordered = [...tensors].sort(
    (a, b) =>
      SAFETENSORS_DTYPE_BYTES[b.dtype] - SAFETENSORS_DTYPE_BYTES[a.dtype] ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of ordered) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytesOf(t)] };
    offset += bytesOf(t);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + headerLen).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLen), true);
  head.set(json, 8);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, head);
    const r = rng(seed);
    const CHUNK = 1 << 20;
    const f32 = new Float32Array(CHUNK);
    const u16 = new Uint16Array(CHUNK);
    for (const t of ordered) {
      const n = size(t);
      const side = t.init === 'mask' ? t.shape[3]! : 0;
      for (let start = 0; start < n; start += CHUNK) {
        const m = Math.min(CHUNK, n - start);
        for (let i = 0; i < m; i++) {
          const at = start + i;
          f32[i] =
            t.init === 'normal'
              ? (r() - 0.5) * 0.0693 // uniform with std 0.02
              : t.init === 'ones'
                ? 1
                : t.init === 'mask'
                  ? Number(at % side <= Math.floor(at / side) % side)
                  : 0;
        }
        if (t.dtype === 'F32') writeSync(fd, new Uint8Array(f32.buffer, 0, m * 4));
        else {
          for (let i = 0; i < m; i++) u16[i] = f32ToBf16Bits(f32[i]!);
          writeSync(fd, new Uint8Array(u16.buffer, 0, m * 2));
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return 8 + headerLen + offset;
}

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
  const inner = createCpuBackend();
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
    const spec = SPECS[shape]();
    const dir = path.join(root, shape);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec.config, null, 2));
    const fileBytes = writeCheckpoint(path.join(dir, 'model.safetensors'), spec.tensors, 1234);
    const used = spec.tensors.filter((t) => t.init !== 'mask');
    const storedBytes = used.reduce(
      (n, t) => n + t.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[t.dtype],
      0,
    );
    const entry: Record<string, unknown> = { file_bytes: fileBytes, weight_bytes_stored: storedBytes };
    for (const mode of modes) {
      const child = spawnSync(
        process.execPath,
        [...process.execArgv, import.meta.filename, '--child', dir, '--mode', mode, '--tokens', f.tokens!],
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
