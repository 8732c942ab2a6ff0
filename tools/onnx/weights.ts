/**
 * The models' own weights, parsed straight from their files' bytes for the ONNX export
 * (independently of the runtime's loaders, so a loader bug cannot hide in both sides of the
 * oracle): safetensors (F32, BF16) with config.json for HF folders, and llama2.c's legacy `.bin`
 * checkpoints. No Node APIs: the browser oracle test builds its graphs in Chromium; `files.ts`
 * reads them from disk in Node.
 */

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** Every tensor of a safetensors file (`file` names it in errors), widened to f32. */
export function parseSafetensorsF32(bytes: Uint8Array, file: string): Map<string, Tensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLen;
  const out = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const raw = bytes.subarray(base + t.data_offsets[0], base + t.data_offsets[1]);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (t.dtype === 'F32') {
      data.set(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
    } else if (t.dtype === 'BF16') {
      const u32 = new Uint32Array(data.buffer);
      const at = base + t.data_offsets[0];
      for (let i = 0; i < n; i++) u32[i] = view.getUint16(at + 2 * i, true) << 16;
    } else {
      throw new Error(`${file}: tensor ${name} has dtype ${t.dtype}; the ONNX export reads F32 and BF16`);
    }
    out.set(name, { shape: t.shape, data });
  }
  return out;
}

export interface LlamaBlockWeights {
  attnNorm: Float32Array;
  /** torch Linear layout [out, in]. */
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  ffnNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
}

export interface LlamaWeights {
  dim: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  eps: number;
  /** 'half': HF rotate_half; 'interleaved': llama2.c's (even, odd) pairs. */
  ropeStyle: 'half' | 'interleaved';
  /** One inverse frequency per rotated pair (headDim / 2). */
  invFreq: Float64Array;
  embed: Float32Array;
  /** [vocab, dim]; the embedding when tied. */
  lmHead: Float32Array;
  norm: Float32Array;
  blocks: LlamaBlockWeights[];
}

export interface HfLlamaConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta?: number;
  tie_word_embeddings?: boolean;
  rope_scaling?: {
    rope_type?: string;
    factor: number;
    low_freq_factor: number;
    high_freq_factor: number;
    original_max_position_embeddings: number;
  } | null;
}

/** theta^(−2i/d), with Llama 3.1's frequency-dependent scaling when the config asks for it. */
export function ropeInvFreq(
  headDim: number,
  theta: number,
  scaling?: HfLlamaConfig['rope_scaling'],
): Float64Array {
  const inv = new Float64Array(headDim / 2);
  for (let i = 0; i < inv.length; i++) inv[i] = 1 / theta ** ((2 * i) / headDim);
  if (!scaling) return inv;
  if (scaling.rope_type !== 'llama3') throw new Error(`rope_scaling ${scaling.rope_type} is not exported`);
  const { factor, low_freq_factor: low, high_freq_factor: high } = scaling;
  const old = scaling.original_max_position_embeddings;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i]!;
    if (wavelen < old / high) continue;
    if (wavelen > old / low) inv[i] = inv[i]! / factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      inv[i] = ((1 - smooth) * inv[i]!) / factor + smooth * inv[i]!;
    }
  }
  return inv;
}

/** A Llama-family HF folder's config.json and model.safetensors tensors (`dir` names it in errors). */
export function hfLlamaWeights(c: HfLlamaConfig, t: Map<string, Tensor>, dir: string): LlamaWeights {
  const get = (name: string) => {
    const x = t.get(name);
    if (!x) throw new Error(`${dir}/model.safetensors: no tensor ${name}`);
    return x.data;
  };
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  const embed = get('model.embed_tokens.weight');
  return {
    dim: c.hidden_size,
    hidden: c.intermediate_size,
    heads: c.num_attention_heads,
    kvHeads: c.num_key_value_heads ?? c.num_attention_heads,
    headDim,
    vocab: c.vocab_size,
    eps: c.rms_norm_eps,
    ropeStyle: 'half',
    invFreq: ropeInvFreq(headDim, c.rope_theta ?? 10000, c.rope_scaling),
    embed,
    lmHead: c.tie_word_embeddings === false ? get('lm_head.weight') : embed,
    norm: get('model.norm.weight'),
    blocks: Array.from({ length: c.num_hidden_layers }, (_, l) => {
      const p = `model.layers.${l}.`;
      return {
        attnNorm: get(p + 'input_layernorm.weight'),
        wq: get(p + 'self_attn.q_proj.weight'),
        wk: get(p + 'self_attn.k_proj.weight'),
        wv: get(p + 'self_attn.v_proj.weight'),
        wo: get(p + 'self_attn.o_proj.weight'),
        ffnNorm: get(p + 'post_attention_layernorm.weight'),
        gate: get(p + 'mlp.gate_proj.weight'),
        up: get(p + 'mlp.up_proj.weight'),
        down: get(p + 'mlp.down_proj.weight'),
      };
    }),
  };
}

/**
 * llama2.c's legacy checkpoint: seven int32s (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size — negative when the classifier is not shared — and seq_len), then the f32 weights in
 * run.c's order. run.c's rmsnorm eps is 1e-5 and its RoPE theta 10000 on interleaved pairs.
 */
export function llama2cWeights(bytes: Uint8Array, file: string): LlamaWeights {
  const h = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 28));
  const [dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen] = Array.from(h) as number[];
  const vocab = Math.abs(vocabSigned!);
  const headDim = dim! / heads!;
  const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 28, bytes.byteOffset + bytes.length));
  let at = 0;
  const take = (n: number) => f.subarray(at, (at += n));
  const perLayer = (n: number) => Array.from({ length: layers! }, () => take(n));
  const kvDim = kvHeads! * headDim;
  const embed = take(vocab * dim!);
  const attnNorm = perLayer(dim!);
  const wq = perLayer(dim! * dim!);
  const wk = perLayer(kvDim * dim!);
  const wv = perLayer(kvDim * dim!);
  const wo = perLayer(dim! * dim!);
  const ffnNorm = perLayer(dim!);
  const w1 = perLayer(hidden! * dim!);
  const w2 = perLayer(dim! * hidden!);
  const w3 = perLayer(hidden! * dim!);
  const norm = take(dim!);
  take(seqLen! * headDim); // freq_cis_real and freq_cis_imag (legacy; recomputed from theta)
  const lmHead = vocabSigned! > 0 ? embed : take(vocab * dim!);
  if (at !== f.length) throw new Error(`${file}: ${f.length - at} floats left after the weights`);
  return {
    dim: dim!,
    hidden: hidden!,
    heads: heads!,
    kvHeads: kvHeads!,
    headDim,
    vocab,
    eps: 1e-5,
    ropeStyle: 'interleaved',
    invFreq: ropeInvFreq(headDim, 10000),
    embed,
    lmHead,
    norm,
    blocks: attnNorm.map((_, l) => ({
      attnNorm: attnNorm[l]!,
      wq: wq[l]!,
      wk: wk[l]!,
      wv: wv[l]!,
      wo: wo[l]!,
      ffnNorm: ffnNorm[l]!,
      gate: w1[l]!,
      up: w3[l]!,
      down: w2[l]!,
    })),
  };
}
