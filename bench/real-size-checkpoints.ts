/**
 * Real-size checkpoints with seeded random weights, written to a folder (nothing committed or
 * downloaded): a GPT-2-small-shaped GPT2LMHeadModel (12 × 768, vocab 50257, F32, the real tensor
 * names including the `attn.bias` mask buffers) and a one-layer Qwen3-0.6B-shaped Qwen3ForCausalLM
 * (BF16). Used by bench/real-size-forward.ts and bench/forward.ts (`--model gpt2-small`).
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import {
  f32ToBf16Bits,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsDtype,
} from '../runtime/formats/safetensors-dtypes';

export type Shape = 'gpt2' | 'qwen3';

export interface TensorSpec {
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

export const SPECS: Record<Shape, () => { config: object; tensors: TensorSpec[] }> = {
  gpt2: gpt2Spec,
  qwen3: qwen3Spec,
};

/** Seeded uniform [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
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
export function writeCheckpoint(file: string, tensors: readonly TensorSpec[], seed: number): number {
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

/**
 * Write `shape`'s config.json and model.safetensors into `dir` (emptied first); returns the file's
 * bytes and the bytes of the weights the model uses (the GPT-2 mask buffers are not weights).
 */
export function writeRealSizeModel(
  shape: Shape,
  dir: string,
  seed = 1234,
): { fileBytes: number; storedBytes: number } {
  const spec = SPECS[shape]();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec.config, null, 2));
  const fileBytes = writeCheckpoint(path.join(dir, 'model.safetensors'), spec.tensors, seed);
  const storedBytes = spec.tensors
    .filter((t) => t.init !== 'mask')
    .reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[t.dtype], 0);
  return { fileBytes, storedBytes };
}
