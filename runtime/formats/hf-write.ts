/**
 * Writer for dense Llama models in the Hugging Face layout (`config.json` + `model.safetensors`),
 * the inverse of `hfCheckpoint`: the loader reads what this writes, and so does
 * `transformers.LlamaForCausalLM.from_pretrained`. Used to export pruned models.
 */
import { blockOf, type LlamaConfig, type LlamaWeights } from '../model/llama-config';
import { hfTensorShapes } from './hf-checkpoint';
import { writeSafetensors } from './safetensors-write';

/** The two files of a dense HF checkpoint. */
export interface HfFiles {
  /** `config.json` text. */
  config: string;
  /** `model.safetensors` bytes (F32). */
  safetensors: Uint8Array;
}

/**
 * Apply HF's rotary row permutation to an interleaved (Meta / llama2.c) q or k weight: the inverse
 * of `unpermuteRotary`. Meta row h·hd + 2i + j goes to HF row h·hd + j·(hd/2) + i.
 */
export function permuteRotary(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  return moveRotaryRows(w, nHeads, headDim, cols, true);
}

/** HF (rotate_half) q or k rows back to Meta's interleaved order: the inverse of `permuteRotary`. */
export function unpermuteRotary(
  w: Float32Array,
  nHeads: number,
  headDim: number,
  cols: number,
): Float32Array {
  return moveRotaryRows(w, nHeads, headDim, cols, false);
}

function moveRotaryRows(
  w: Float32Array,
  nHeads: number,
  headDim: number,
  cols: number,
  toHf: boolean,
): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const meta = (h * headDim + 2 * i + j) * cols;
        const hf = (h * headDim + j * half + i) * cols;
        const [src, dst] = toHf ? [meta, hf] : [hf, meta];
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/**
 * Whether the weights of a model with config `c` hold q/k rows in HF's rotate_half order (loaded
 * from an HF checkpoint) rather than llama2.c's interleaved order.
 */
export function hasHfRotaryLayout(c: LlamaConfig): boolean {
  const p = blockOf(c).positions;
  return p.kind === 'rope' && p.style === 'half';
}

/** Only Llama-architecture weights fit the llama2.c and HF Llama writers. */
export function assertLlamaArchitecture(c: LlamaConfig, writer: string): void {
  if (c.architecture !== undefined && c.architecture !== 'LlamaForCausalLM') {
    throw new Error(
      `${writer}: only Llama-architecture models can be written; this one is ${c.architecture}`,
    );
  }
}

/** HF `config.json` object of a dense LlamaConfig. */
export function hfConfigJson(c: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.seqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    tie_word_embeddings: c.sharedClassifier,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
}

/**
 * Serialize a dense model as HF files.
 *
 * @example
 * const { config, safetensors } = writeHfCheckpoint(model.config, await model.readWeights());
 * @throws Error for an MoE config (not written yet) or weights that do not match the config.
 */
export function writeHfCheckpoint(
  c: LlamaConfig,
  w: LlamaWeights,
  metadata: Readonly<Record<string, string>> = {},
): HfFiles {
  if (c.moe) throw new Error('writeHfCheckpoint: only dense models can be written');
  assertLlamaArchitecture(c, 'writeHfCheckpoint');
  // Weights loaded from HF are already in its row order; llama2.c's need the permutation.
  const hfRows = hasHfRotaryLayout(c);
  const qk = (x: Float32Array, heads: number) => (hfRows ? x : permuteRotary(x, heads, c.headDim, c.dim));
  const data = new Map<string, Float32Array>([['model.embed_tokens.weight', w.tokEmbeddings]]);
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    data.set(`${p}input_layernorm.weight`, l.attentionNorm);
    data.set(`${p}self_attn.q_proj.weight`, qk(l.wq, c.nHeads));
    data.set(`${p}self_attn.k_proj.weight`, qk(l.wk, c.nKvHeads));
    data.set(`${p}self_attn.v_proj.weight`, l.wv);
    data.set(`${p}self_attn.o_proj.weight`, l.wo);
    data.set(`${p}post_attention_layernorm.weight`, l.ffnNorm);
    data.set(`${p}mlp.gate_proj.weight`, l.w1);
    data.set(`${p}mlp.up_proj.weight`, l.w3);
    data.set(`${p}mlp.down_proj.weight`, l.w2);
  });
  data.set('model.norm.weight', w.norm);
  if (!c.sharedClassifier) {
    if (!w.output)
      throw new Error('writeHfCheckpoint: the config has its own classifier but the weights have none');
    data.set('lm_head.weight', w.output);
  }
  const tensors = [...hfTensorShapes(c)].map(([name, shape]) => {
    const d = data.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!d || d.length !== size) {
      throw new Error(
        `writeHfCheckpoint: ${name} has ${d?.length ?? 0} values, expected [${shape.join(', ')}]`,
      );
    }
    return { name, dtype: 'F32' as const, shape, data: d };
  });
  return {
    config: JSON.stringify(hfConfigJson(c), null, 2) + '\n',
    safetensors: writeSafetensors(tensors, { format: 'pt', ...metadata }),
  };
}
