/**
 * GPT-2 (Conv1D weights stored [in, out], fused c_attn, LayerNorm with bias, learned positions,
 * gelu_new, tied head) and GPT-NeoX / Pythia (fused query_key_value laid out per head, partial
 * rotary, parallel residual, exact GELU, untied embed_out).
 */
import type { LlamaConfig } from '../llama-config';
import { activationOf, coreDims, uniformLayers, type ArchitectureSpec } from './common';
import { blockSpec } from '../block-spec';
import type { ConfigReader } from './config-reader';
import { toFloat32, type WeightArray } from '../../../kernels/weight-dtype';
import {
  layerEntry,
  layerlessEntry,
  putLayerPart,
  relayout,
  rows,
  transpose,
  transposeColumns,
  type TensorEntry,
} from './tensor-table';

const GPT2_KEYS = {
  dim: 'n_embd',
  layers: 'n_layer',
  heads: 'n_head',
  positions: 'n_positions',
  hidden: null,
};

function gpt2Config(r: ConfigReader): LlamaConfig {
  const dim = r.int('n_embd');
  const core = coreDims(r, {
    keys: GPT2_KEYS,
    hiddenDim: r.has('n_inner') ? r.int('n_inner') : 4 * dim,
    explicitHeadDim: false,
    tiedDefault: true,
  });
  if (!core.sharedClassifier) r.fail('unsupported config: tie_word_embeddings false (GPT-2 ties its head)');
  r.refuse('scale_attn_by_inverse_layer_idx', 'not implemented');
  r.refuse('reorder_and_upcast_attn', 'not implemented');
  r.refuse('scale_attn_weights', 'GPT-2 without the 1/√d score scale is not implemented', (v) => v === true);
  r.refuse('add_cross_attention', 'cross-attention is not part of a decoder-only model');
  return {
    ...core,
    normEps: r.num('layer_norm_epsilon', 1e-5),
    ropeTheta: 10000,
    moe: null,
    architecture: 'GPT2LMHeadModel',
    block: blockSpec(
      {
        norm: 'layer',
        positions: { kind: 'learned' },
        activation: activationOf(r, ['activation_function'], 'gelu_new'),
        gated: false,
        biases: { qkv: true, o: true, mlp: true },
        layers: uniformLayers(core.nLayers, 10000, null),
      },
      core.headDim,
    ),
  };
}

function gpt2Tensors(c: LlamaConfig): TensorEntry[] {
  const { dim, hiddenDim, vocabSize, seqLen } = c;
  const out: TensorEntry[] = [
    layerlessEntry('wte.weight', [vocabSize, dim], (w, d) => (w.tokEmbeddings = d)),
    layerlessEntry('wpe.weight', [seqLen, dim], (w, d) => (w.posEmbeddings = d)),
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `h.${l}.`;
    // Conv1D stores [in, out]: transposed once here into the runtime's [out, in].
    const qkv = (i: number) => (x: WeightArray) => transposeColumns(x, dim, 3 * dim, i * dim, dim);
    const qkvBias = (i: number) => (x: WeightArray) => rows(x, dim, i, 1);
    out.push(
      layerEntry(`${p}ln_1.weight`, [dim], l, 'attentionNorm'),
      layerEntry(`${p}ln_1.bias`, [dim], l, 'attentionNormBias'),
      fanOut(`${p}attn.c_attn.weight`, [dim, 3 * dim], l, [
        ['wq', qkv(0)],
        ['wk', qkv(1)],
        ['wv', qkv(2)],
      ]),
      fanOut(`${p}attn.c_attn.bias`, [3 * dim], l, [
        ['bq', qkvBias(0)],
        ['bk', qkvBias(1)],
        ['bv', qkvBias(2)],
      ]),
      layerEntry(`${p}attn.c_proj.weight`, [dim, dim], l, 'wo', (x) => transpose(x, dim, dim)),
      layerEntry(`${p}attn.c_proj.bias`, [dim], l, 'bo'),
      layerEntry(`${p}ln_2.weight`, [dim], l, 'ffnNorm'),
      layerEntry(`${p}ln_2.bias`, [dim], l, 'ffnNormBias'),
      layerEntry(`${p}mlp.c_fc.weight`, [dim, hiddenDim], l, 'w1', (x) => transpose(x, dim, hiddenDim)),
      layerEntry(`${p}mlp.c_fc.bias`, [hiddenDim], l, 'b1'),
      layerEntry(`${p}mlp.c_proj.weight`, [hiddenDim, dim], l, 'w2', (x) => transpose(x, hiddenDim, dim)),
      layerEntry(`${p}mlp.c_proj.bias`, [dim], l, 'b2'),
    );
  }
  out.push(
    layerlessEntry('ln_f.weight', [dim], (w, d) => (w.norm = toFloat32(d))),
    layerlessEntry('ln_f.bias', [dim], (w, d) => (w.normBias = toFloat32(d))),
  );
  return out;
}

type LayerPart = Parameters<typeof layerEntry>[3];

/** One stored tensor split into several layer parts. */
function fanOut(
  name: string,
  shape: readonly number[],
  l: number,
  parts: readonly (readonly [LayerPart, (x: WeightArray) => WeightArray])[],
): TensorEntry {
  return {
    name,
    shape,
    place: (d, w) => {
      for (const [part, map] of parts) putLayerPart(w, l, part, map(d));
    },
  };
}

export const GPT2: ArchitectureSpec = {
  name: 'GPT2LMHeadModel',
  modelTypes: ['gpt2'],
  config: gpt2Config,
  tensors: gpt2Tensors,
  // The causal-mask buffers of older exports; a tied checkpoint may also carry lm_head.
  ignorable: (n) => /^h\.\d+\.attn\.(bias|masked_bias)$/.test(n) || n === 'lm_head.weight',
  optionalPrefix: 'transformer.',
};

function neoxConfig(r: ConfigReader): LlamaConfig {
  const core = coreDims(r, { explicitHeadDim: false, tiedDefault: false });
  const rotaryDim = Math.floor(core.headDim * r.num('rotary_pct', 0.25));
  if (rotaryDim < 2 || rotaryDim % 2 !== 0) {
    r.fail(`invalid config: rotary_pct gives ${rotaryDim} rotary dims per head; it must be even and ≥ 2`);
  }
  const ropeTheta = r.has('rope_theta') ? r.num('rope_theta') : r.num('rotary_emb_base', 10000);
  r.refuse('rope_scaling', 'rotary scaling is not implemented for GPT-NeoX', (v) => v === null);
  const bias = r.bool('attention_bias', true);
  return {
    ...core,
    normEps: r.num('layer_norm_eps', 1e-5),
    ropeTheta,
    moe: null,
    architecture: 'GPTNeoXForCausalLM',
    block: blockSpec(
      {
        norm: 'layer',
        residual: r.bool('use_parallel_residual', true) ? 'parallel' : 'sequential',
        positions: { kind: 'rope', style: 'half', rotaryDim },
        activation: activationOf(r, ['hidden_act'], 'gelu'),
        gated: false,
        biases: { qkv: bias, o: bias, mlp: true },
        layers: uniformLayers(core.nLayers, ropeTheta, null),
      },
      core.headDim,
    ),
  };
}

/** Rows of head h's q (i = 0), k (1) or v (2) in query_key_value's [nHeads, 3, headDim] layout. */
function neoxPart(x: WeightArray, c: LlamaConfig, i: number, cols: number): WeightArray {
  const hd = c.headDim;
  return relayout(x, (e, make) => {
    const out = make(c.nHeads * hd * cols);
    for (let h = 0; h < c.nHeads; h++) {
      const src = (h * 3 + i) * hd * cols;
      out.set(e.subarray(src, src + hd * cols), h * hd * cols);
    }
    return out;
  });
}

function neoxTensors(c: LlamaConfig): TensorEntry[] {
  const { dim, hiddenDim, vocabSize } = c;
  const bias = c.block!.biases.qkv;
  const out: TensorEntry[] = [
    layerlessEntry('gpt_neox.embed_in.weight', [vocabSize, dim], (w, d) => (w.tokEmbeddings = d)),
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `gpt_neox.layers.${l}.`;
    const split = (cols: number) => (i: number) => (x: WeightArray) => neoxPart(x, c, i, cols);
    out.push(
      layerEntry(`${p}input_layernorm.weight`, [dim], l, 'attentionNorm'),
      layerEntry(`${p}input_layernorm.bias`, [dim], l, 'attentionNormBias'),
      layerEntry(`${p}post_attention_layernorm.weight`, [dim], l, 'ffnNorm'),
      layerEntry(`${p}post_attention_layernorm.bias`, [dim], l, 'ffnNormBias'),
      fanOut(`${p}attention.query_key_value.weight`, [3 * dim, dim], l, [
        ['wq', split(dim)(0)],
        ['wk', split(dim)(1)],
        ['wv', split(dim)(2)],
      ]),
      layerEntry(`${p}attention.dense.weight`, [dim, dim], l, 'wo'),
      layerEntry(`${p}mlp.dense_h_to_4h.weight`, [hiddenDim, dim], l, 'w1'),
      layerEntry(`${p}mlp.dense_h_to_4h.bias`, [hiddenDim], l, 'b1'),
      layerEntry(`${p}mlp.dense_4h_to_h.weight`, [dim, hiddenDim], l, 'w2'),
      layerEntry(`${p}mlp.dense_4h_to_h.bias`, [dim], l, 'b2'),
    );
    if (bias) {
      out.push(
        fanOut(`${p}attention.query_key_value.bias`, [3 * dim], l, [
          ['bq', split(1)(0)],
          ['bk', split(1)(1)],
          ['bv', split(1)(2)],
        ]),
        layerEntry(`${p}attention.dense.bias`, [dim], l, 'bo'),
      );
    }
  }
  out.push(
    layerlessEntry('gpt_neox.final_layer_norm.weight', [dim], (w, d) => (w.norm = toFloat32(d))),
    layerlessEntry('gpt_neox.final_layer_norm.bias', [dim], (w, d) => (w.normBias = toFloat32(d))),
  );
  if (!c.sharedClassifier)
    out.push(layerlessEntry('embed_out.weight', [vocabSize, dim], (w, d) => (w.output = d)));
  return out;
}

export const GPT_NEOX: ArchitectureSpec = {
  name: 'GPTNeoXForCausalLM',
  modelTypes: ['gpt_neox'],
  config: neoxConfig,
  tensors: neoxTensors,
  ignorable: (n) => /^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/.test(n),
};
