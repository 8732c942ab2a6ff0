/**
 * Test-side HF exporter: writes a runtime (llama2.c-convention) model as a Hugging Face folder —
 * config.json and model.safetensors with HF names — permuting q_proj / k_proj exactly as HF's
 * convert_llama_weights_to_hf.py does. Written independently of runtime/formats/hf-checkpoint.ts
 * (a literal view/transpose instead of its derived inverse), so a loader bug cannot cancel out.
 */
import type { SafetensorsDtype } from '../../runtime/formats/safetensors-dtypes';
import { writeSafetensors, type SafetensorsTensorInput } from '../../runtime/formats/safetensors-write';
import type { LlamaConfig, LlamaWeights } from '../../runtime/model/llama-config';

/**
 * HF's `permute(w, n_heads, dim1, dim2)`:
 * `w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)`,
 * spelled out as a 4-D transpose of axes 1 and 2.
 */
export function hfPermute(w: Float32Array, nHeads: number, dim1: number, dim2: number): Float32Array {
  const a = dim1 / nHeads / 2;
  const out = new Float32Array(w.length);
  // Input shape (nHeads, a, 2, dim2); output shape (nHeads, 2, a, dim2).
  for (let h = 0; h < nHeads; h++)
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < a; i++)
        for (let c = 0; c < dim2; c++) {
          out[((h * 2 + j) * a + i) * dim2 + c] = w[((h * a + i) * 2 + j) * dim2 + c]!;
        }
  return out;
}

/** config.json for `c` (the fields HF's save_pretrained writes that the loader reads). */
export function hfConfigJson(c: LlamaConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: [c.moe ? 'MixtralForCausalLM' : 'LlamaForCausalLM'],
    model_type: c.moe ? 'mixtral' : 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.seqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.sharedClassifier,
    hidden_act: 'silu',
    torch_dtype: 'float32',
  };
  if (c.moe) {
    json.num_local_experts = c.moe.nExperts;
    json.num_experts_per_tok = c.moe.topK;
    json.sliding_window = null;
  }
  return { ...json, ...extra };
}

/** HF-named tensors of a model, q/k permuted the HF way. */
export function hfTensors(
  c: LlamaConfig,
  w: LlamaWeights,
  dtype: SafetensorsDtype = 'F32',
): SafetensorsTensorInput[] {
  const t: SafetensorsTensorInput[] = [];
  const put = (name: string, shape: number[], data: Float32Array) => t.push({ name, dtype, shape, data });
  put('model.embed_tokens.weight', [c.vocabSize, c.dim], w.tokEmbeddings);
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    put(`${p}input_layernorm.weight`, [c.dim], l.attentionNorm);
    put(`${p}self_attn.q_proj.weight`, [c.dim, c.dim], hfPermute(l.wq, c.nHeads, c.dim, c.dim));
    put(`${p}self_attn.k_proj.weight`, [c.kvDim, c.dim], hfPermute(l.wk, c.nKvHeads, c.kvDim, c.dim));
    put(`${p}self_attn.v_proj.weight`, [c.kvDim, c.dim], l.wv);
    put(`${p}self_attn.o_proj.weight`, [c.dim, c.dim], l.wo);
    put(`${p}post_attention_layernorm.weight`, [c.dim], l.ffnNorm);
    if (l.moe) {
      put(`${p}block_sparse_moe.gate.weight`, [c.moe!.nExperts, c.dim], l.moe.router);
      l.moe.experts.forEach((e, k) => {
        const x = `${p}block_sparse_moe.experts.${k}.`;
        put(`${x}w1.weight`, [c.hiddenDim, c.dim], e.w1);
        put(`${x}w2.weight`, [c.dim, c.hiddenDim], e.w2);
        put(`${x}w3.weight`, [c.hiddenDim, c.dim], e.w3);
      });
    } else {
      put(`${p}mlp.gate_proj.weight`, [c.hiddenDim, c.dim], l.w1);
      put(`${p}mlp.up_proj.weight`, [c.hiddenDim, c.dim], l.w3);
      put(`${p}mlp.down_proj.weight`, [c.dim, c.hiddenDim], l.w2);
    }
  });
  put('model.norm.weight', [c.dim], w.norm);
  if (w.output) put('lm_head.weight', [c.vocabSize, c.dim], w.output);
  return t;
}

/** The two files of an HF folder (tokenizer not included). */
export function toHf(c: LlamaConfig, w: LlamaWeights, dtype: SafetensorsDtype = 'F32') {
  return {
    config: new TextEncoder().encode(JSON.stringify(hfConfigJson(c), null, 2)),
    weights: writeSafetensors(hfTensors(c, w, dtype), { format: 'pt' }),
  };
}
