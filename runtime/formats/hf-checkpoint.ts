/**
 * Hugging Face Llama / Mixtral safetensors → the runtime's LlamaWeights.
 *
 * Names: `model.embed_tokens.weight`, `model.layers.{l}.input_layernorm.weight`,
 * `…self_attn.{q,k,v,o}_proj.weight`, `…post_attention_layernorm.weight`, dense
 * `…mlp.{gate,up,down}_proj.weight` (→ w1, w3, w2) or Mixtral
 * `…block_sparse_moe.gate.weight` (router) and `…block_sparse_moe.experts.{e}.w{1,2,3}.weight`,
 * `model.norm.weight`, `lm_head.weight` (absent when tied).
 *
 * Rotary layout: HF's convert_llama_weights_to_hf.py permutes the rows of q_proj and k_proj inside
 * each head so that HF's `rotate_half` (pairing dimension i with i + headDim/2) computes what Meta's
 * interleaved rotary (pairing 2i with 2i + 1) did. The runtime's rope kernel is interleaved, so the
 * loader applies the inverse permutation; see `unpermuteRotary`.
 */
import { formatCount, ModelFormatError } from '../errors';
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from '../model/llama-config';
import type { HfArchitecture, HfModelConfig } from './hf-config';
import type { SafetensorsFile } from './safetensors';

/** A mapped HF checkpoint, ready for `LlamaModel.load`. */
export interface HfCheckpoint {
  architecture: HfArchitecture;
  config: LlamaConfig;
  weights: LlamaWeights;
  /** The weights file name(s), for messages. */
  fileName: string;
}

/** Dtypes accepted for weights (converted to float32 on load). */
const WEIGHT_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** How many names an error lists before "and N more". */
const LIST_LIMIT = 5;

/**
 * The tensors a config requires, name → [rows, cols] or [n], in a stable order.
 *
 * @example
 * hfTensorShapes(config).get('model.layers.0.self_attn.k_proj.weight'); // [kvDim, dim]
 */
export function hfTensorShapes(config: LlamaConfig): Map<string, number[]> {
  const { dim, hiddenDim, kvDim, vocabSize, moe } = config;
  const m = new Map<string, number[]>([['model.embed_tokens.weight', [vocabSize, dim]]]);
  for (let l = 0; l < config.nLayers; l++) {
    const p = `model.layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, [dim]);
    m.set(`${p}self_attn.q_proj.weight`, [dim, dim]);
    m.set(`${p}self_attn.k_proj.weight`, [kvDim, dim]);
    m.set(`${p}self_attn.v_proj.weight`, [kvDim, dim]);
    m.set(`${p}self_attn.o_proj.weight`, [dim, dim]);
    m.set(`${p}post_attention_layernorm.weight`, [dim]);
    if (moe) {
      m.set(`${p}block_sparse_moe.gate.weight`, [moe.nExperts, dim]);
      for (let e = 0; e < moe.nExperts; e++) {
        const x = `${p}block_sparse_moe.experts.${e}.`;
        m.set(`${x}w1.weight`, [hiddenDim, dim]);
        m.set(`${x}w2.weight`, [dim, hiddenDim]);
        m.set(`${x}w3.weight`, [hiddenDim, dim]);
      }
    } else {
      m.set(`${p}mlp.gate_proj.weight`, [hiddenDim, dim]);
      m.set(`${p}mlp.up_proj.weight`, [hiddenDim, dim]);
      m.set(`${p}mlp.down_proj.weight`, [dim, hiddenDim]);
    }
  }
  m.set('model.norm.weight', [dim]);
  if (!config.sharedClassifier) m.set('lm_head.weight', [vocabSize, dim]);
  return m;
}

/**
 * Map safetensors files (one, or the shards of one checkpoint) to runtime weights for `parsed`.
 *
 * @example
 * const ckpt = hfCheckpoint(parseHfConfig(configText, 'config.json'), [parseSafetensors(bytes, 'model.safetensors')]);
 * LlamaModel.load(backend, ckpt);
 * @throws ModelFormatError naming the weights file(s) for missing or unexpected tensors, a wrong
 *   shape or a non-float dtype.
 */
export function hfCheckpoint(
  parsed: HfModelConfig,
  files: readonly SafetensorsFile[],
  configFileName = 'config.json',
): HfCheckpoint {
  const { config, architecture } = parsed;
  const fileName = files.map((f) => f.fileName).join(', ') || '(no weights file)';
  const fail = (problem: string): never => {
    throw new ModelFormatError(fileName, problem);
  };
  const where = new Map<string, SafetensorsFile>();
  for (const f of files) {
    for (const name of f.tensors.keys()) {
      const other = where.get(name);
      if (other) fail(`tensor "${name}" appears in both ${other.fileName} and ${f.fileName}`);
      where.set(name, f);
    }
  }
  const shapes = hfTensorShapes(config);
  const layers = config.nLayers;
  const what = `${configFileName} (${architecture}, ${layers} layer${layers === 1 ? '' : 's'}${config.moe ? `, ${config.moe.nExperts} experts` : ''})`;
  const missing = [...shapes.keys()].filter((n) => !where.has(n));
  if (missing.length > 0) {
    fail(
      `missing ${formatCount(missing.length)} tensor${missing.length === 1 ? '' : 's'} that ${what} requires: ${listNames(missing)}`,
    );
  }
  // A tied checkpoint may still carry lm_head (HF ignores it); rotary caches are buffers, not weights.
  const ignorable = (n: string) =>
    n.endsWith('.rotary_emb.inv_freq') || (config.sharedClassifier && n === 'lm_head.weight');
  const unexpected = [...where.keys()].filter((n) => !shapes.has(n) && !ignorable(n));
  if (unexpected.length > 0) {
    fail(
      `${formatCount(unexpected.length)} tensor${unexpected.length === 1 ? '' : 's'} that ${what} does not use (does the config match the checkpoint?): ${listNames(unexpected)}`,
    );
  }
  for (const [name, shape] of shapes) {
    const info = where.get(name)!.info(name);
    if (!(WEIGHT_DTYPES as readonly string[]).includes(info.dtype)) {
      fail(`tensor "${name}" has dtype ${info.dtype}; expected ${WEIGHT_DTYPES.join(', ')}`);
    }
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      fail(
        `tensor "${name}" has shape [${info.shape.join(', ')}]; ${configFileName} implies [${shape.join(', ')}]`,
      );
    }
  }
  const get = (name: string) => where.get(name)!.float32(name);
  return { architecture, config, weights: mapWeights(config, get), fileName };
}

function mapWeights(c: LlamaConfig, get: (name: string) => Float32Array): LlamaWeights {
  const empty = new Float32Array(0);
  const layers = Array.from({ length: c.nLayers }, (_, l): LlamaLayerWeights => {
    const p = `model.layers.${l}.`;
    const layer: LlamaLayerWeights = {
      attentionNorm: get(`${p}input_layernorm.weight`),
      wq: unpermuteRotary(get(`${p}self_attn.q_proj.weight`), c.nHeads, c.headDim, c.dim),
      wk: unpermuteRotary(get(`${p}self_attn.k_proj.weight`), c.nKvHeads, c.headDim, c.dim),
      wv: get(`${p}self_attn.v_proj.weight`),
      wo: get(`${p}self_attn.o_proj.weight`),
      ffnNorm: get(`${p}post_attention_layernorm.weight`),
      w1: c.moe ? empty : get(`${p}mlp.gate_proj.weight`),
      w2: c.moe ? empty : get(`${p}mlp.down_proj.weight`),
      w3: c.moe ? empty : get(`${p}mlp.up_proj.weight`),
    };
    if (c.moe) {
      const x = `${p}block_sparse_moe.`;
      layer.moe = {
        router: get(`${x}gate.weight`),
        experts: Array.from({ length: c.moe.nExperts }, (_, e) => ({
          w1: get(`${x}experts.${e}.w1.weight`),
          w2: get(`${x}experts.${e}.w2.weight`),
          w3: get(`${x}experts.${e}.w3.weight`),
        })),
      };
    }
    return layer;
  });
  return {
    tokEmbeddings: get('model.embed_tokens.weight'),
    layers,
    norm: get('model.norm.weight'),
    output: c.sharedClassifier ? null : get('lm_head.weight'),
  };
}

/**
 * Undo HF's rotary row permutation of a q_proj / k_proj weight [nHeads·headDim, cols]. HF row
 * h·hd + j·(hd/2) + i holds Meta's (interleaved) row h·hd + 2i + j, for j ∈ {0, 1} and
 * i < hd/2: the inverse of HF's `w.view(n, hd/2, 2, cols).transpose(1, 2)`. Returns a new array.
 *
 * @example
 * unpermuteRotary(Float32Array.of(0, 1, 2, 3), 1, 4, 1); // [0, 2, 1, 3]
 */
export function unpermuteRotary(
  w: Float32Array,
  nHeads: number,
  headDim: number,
  cols: number,
): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * headDim + j * half + i) * cols;
        const dst = (h * headDim + 2 * i + j) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, LIST_LIMIT).join(', ');
  return names.length > LIST_LIMIT ? `${shown} and ${formatCount(names.length - LIST_LIMIT)} more` : shown;
}
