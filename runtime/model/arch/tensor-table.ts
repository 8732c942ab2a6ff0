/**
 * Tensor tables: which stored tensor (HF name, stored shape) plays which role in the runtime's
 * weights, and the layout change on the way (Conv1D transposes, fused q/k/v splits, Gemma's 1 + w).
 * The graph reads roles, never names (llama.cpp's `llama-arch.cpp` does the same).
 *
 * Data arrive as the checkpoint stored them: float32, or 16-bit bits (kernels/weight-dtype.ts).
 * Layout changes move elements without looking at them, so matrices stay 16-bit; norm scales and
 * biases (small vectors) become float32 as they are placed.
 */
import { halfArray, isHalf, toFloat32, type WeightArray } from '../../../kernels/weight-dtype';
import type { ExpertWeights, LlamaConfig, LlamaLayerWeights, LlamaWeights } from '../llama-config';
import { blockOf, LAYER_MATRICES, qDimOf } from '../llama-config';

/** Weights as a checkpoint is read into them: matrices float32 or 16-bit. */
export type StoredWeights = LlamaWeights<WeightArray>;

/** One stored tensor and where its data goes. */
export interface TensorEntry {
  /** Name in the checkpoint. */
  readonly name: string;
  /** Shape as stored. */
  readonly shape: readonly number[];
  /** Put the data (float32 or 16-bit, as stored), or the parts of it, into the weights being built. */
  place(data: WeightArray, w: StoredWeights): void;
}

/** A weight's elements: float32 values or 16-bit bits. */
type Elements = Float32Array | Uint16Array;

/** Rebuild x's elements with `f` (a layout change), keeping its element type. */
export function relayout<A extends WeightArray>(
  x: A,
  f: <E extends Elements>(e: E, make: (n: number) => E) => E,
): A {
  if (isHalf(x))
    return halfArray(
      x.dtype,
      f(x.bits, (n) => new Uint16Array(n)),
    ) as A;
  return f(x as Float32Array, (n) => new Float32Array(n)) as A;
}

/** x [rows, cols] → xᵀ [cols, rows]. */
export function transpose<A extends WeightArray>(x: A, rows: number, cols: number): A {
  return transposeColumns(x, rows, cols, 0, cols);
}

/** Columns [start, start + count) of x [rows, cols]. */
export function columns<A extends WeightArray>(
  x: A,
  rows: number,
  cols: number,
  start: number,
  count: number,
): A {
  return relayout(x, (e, make) => {
    const out = make(rows * count);
    for (let r = 0; r < rows; r++) out.set(e.subarray(r * cols + start, r * cols + start + count), r * count);
    return out;
  });
}

/**
 * Columns [start, start + count) of x [rows, cols], transposed: [count, rows]. One pass and one
 * new array (GPT-2's fused c_attn, stored [in, 3·out], into q/k/v [out, in]).
 */
export function transposeColumns<A extends WeightArray>(
  x: A,
  rows: number,
  cols: number,
  start: number,
  count: number,
): A {
  return relayout(x, (e, make) => {
    const out = make(rows * count);
    for (let r = 0; r < rows; r++) {
      const src = r * cols + start;
      for (let c = 0; c < count; c++) out[c * rows + r] = e[src + c]!;
    }
    return out;
  });
}

/** Rows [start, start + count) of x [*, cols], copied. */
export function rows<A extends WeightArray>(x: A, cols: number, start: number, count: number): A {
  return relayout(x, (e) => e.slice(start * cols, (start + count) * cols) as typeof e);
}

/** 1 + w (Gemma's RMSNorm scale, folded once at load, in float32 as HF computes it). */
export function plusOne(w: WeightArray): Float32Array {
  return toFloat32(w).map((v) => 1 + v);
}

/** An empty layer (every part length 0) that a table fills in. */
export function emptyLayer(): LlamaLayerWeights {
  const e = new Float32Array(0);
  return { attentionNorm: e, wq: e, wk: e, wv: e, wo: e, ffnNorm: e, w1: e, w2: e, w3: e };
}

/** Weights with empty parts, to be filled by a table. */
export function emptyWeights(c: LlamaConfig): LlamaWeights {
  return {
    tokEmbeddings: new Float32Array(0),
    layers: Array.from({ length: c.nLayers }, emptyLayer),
    norm: new Float32Array(0),
    output: null,
  };
}

type LayerVector = Exclude<keyof LlamaLayerWeights, 'moe'>;

/**
 * Store `data` as layer l's `part`: a matrix as it comes, a norm scale or bias as float32.
 */
export function putLayerPart(w: StoredWeights, l: number, part: LayerVector, data: WeightArray): void {
  const layer = w.layers[l]!;
  if ((LAYER_MATRICES as readonly string[]).includes(part))
    layer[part as (typeof LAYER_MATRICES)[number]] = data;
  else layer[part as Exclude<LayerVector, (typeof LAYER_MATRICES)[number]>] = toFloat32(data);
}

/** An entry that stores the data as layer l's `part` (after `map`). */
export function layerEntry(
  name: string,
  shape: readonly number[],
  l: number,
  part: LayerVector,
  map: (x: WeightArray) => WeightArray = (x) => x,
): TensorEntry {
  return { name, shape, place: (d, w) => putLayerPart(w, l, part, map(d)) };
}

function moeOf(w: StoredWeights, l: number, nExperts: number) {
  const layer = w.layers[l]!;
  layer.moe ??= {
    router: new Float32Array(0),
    experts: Array.from({ length: nExperts }, () => ({
      w1: new Float32Array(0),
      w2: new Float32Array(0),
      w3: new Float32Array(0),
    })),
  };
  return layer.moe;
}

/** An entry for part of an MoE layer: the router, an expert's matrix, or the shared expert. */
export function moeEntry(
  name: string,
  shape: readonly number[],
  l: number,
  nExperts: number,
  put: (moe: NonNullable<LlamaLayerWeights<WeightArray>['moe']>, data: WeightArray) => void,
): TensorEntry {
  return { name, shape, place: (d, w) => put(moeOf(w, l, nExperts), d) };
}

/** The shared expert slot of an MoE layer, created on first use. */
export function sharedOf(moe: NonNullable<LlamaLayerWeights<WeightArray>['moe']>): {
  expert: ExpertWeights<WeightArray>;
  gate: WeightArray;
} {
  const e = new Float32Array(0);
  moe.shared ??= { expert: { w1: e, w2: e, w3: e }, gate: e };
  return moe.shared;
}

/** How a Llama-style checkpoint (`model.layers.{l}.…`) names its norms and FFN. */
export interface LlamaStyleNames {
  /** Norm before attention (absent for OLMo 2's post-norm blocks). */
  preAttentionNorm?: string;
  /** Norm before the FFN: `post_attention_layernorm` in Llama, `pre_feedforward_layernorm` in Gemma. */
  preFfnNorm?: string;
  /** Norm on the attention output (Gemma, OLMo 2). */
  postAttentionNorm?: string;
  /** Norm on the FFN output (Gemma, OLMo 2). */
  postFfnNorm?: string;
  /** Norm weights are stored as w in (1 + w) (Gemma). */
  normPlusOne?: boolean;
  /** The FFN: a dense `mlp`, or the MoE layout's entries for layer l. */
  ffn: 'mlp' | ((l: number, p: string) => TensorEntry[]);
}

/** The tensors of a `model.layers.{l}` / `model.embed_tokens` / `model.norm` / `lm_head` checkpoint. */
export function llamaStyleTensors(c: LlamaConfig, names: LlamaStyleNames): TensorEntry[] {
  const { dim, kvDim, hiddenDim, vocabSize } = c;
  const qDim = qDimOf(c);
  const block = blockOf(c);
  const norm = names.normPlusOne ? plusOne : toFloat32;
  const headNorm = block.qkNorm === 'head';
  const out: TensorEntry[] = [
    {
      name: 'model.embed_tokens.weight',
      shape: [vocabSize, dim],
      place: (d, w) => void (w.tokEmbeddings = d),
    },
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}.`;
    const vec = (n: string | undefined, part: LayerVector) => {
      if (n) out.push(layerEntry(`${p}${n}.weight`, [dim], l, part, norm));
    };
    vec(names.preAttentionNorm, 'attentionNorm');
    vec(names.preFfnNorm, 'ffnNorm');
    vec(names.postAttentionNorm, 'postAttentionNorm');
    vec(names.postFfnNorm, 'postFfnNorm');
    const a = `${p}self_attn.`;
    out.push(
      layerEntry(`${a}q_proj.weight`, [qDim, dim], l, 'wq'),
      layerEntry(`${a}k_proj.weight`, [kvDim, dim], l, 'wk'),
      layerEntry(`${a}v_proj.weight`, [kvDim, dim], l, 'wv'),
      layerEntry(`${a}o_proj.weight`, [dim, qDim], l, 'wo'),
    );
    if (block.biases.qkv) {
      out.push(
        layerEntry(`${a}q_proj.bias`, [qDim], l, 'bq'),
        layerEntry(`${a}k_proj.bias`, [kvDim], l, 'bk'),
        layerEntry(`${a}v_proj.bias`, [kvDim], l, 'bv'),
      );
    }
    if (block.biases.o) out.push(layerEntry(`${a}o_proj.bias`, [dim], l, 'bo'));
    if (block.qkNorm !== 'none') {
      out.push(
        layerEntry(`${a}q_norm.weight`, [headNorm ? c.headDim : qDim], l, 'qNorm', norm),
        layerEntry(`${a}k_norm.weight`, [headNorm ? c.headDim : kvDim], l, 'kNorm', norm),
      );
    }
    if (names.ffn === 'mlp') {
      out.push(
        layerEntry(`${p}mlp.gate_proj.weight`, [hiddenDim, dim], l, 'w1'),
        layerEntry(`${p}mlp.up_proj.weight`, [hiddenDim, dim], l, 'w3'),
        layerEntry(`${p}mlp.down_proj.weight`, [dim, hiddenDim], l, 'w2'),
      );
    } else out.push(...names.ffn(l, p));
  }
  out.push(layerlessEntry('model.norm.weight', [dim], (w, d) => (w.norm = norm(d))));
  if (!c.sharedClassifier) {
    out.push(layerlessEntry('lm_head.weight', [vocabSize, dim], (w, d) => (w.output = d)));
  }
  return out;
}

/** An entry for a model-level tensor. */
export function layerlessEntry(
  name: string,
  shape: readonly number[],
  put: (w: StoredWeights, d: WeightArray) => void,
): TensorEntry {
  return { name, shape, place: (d, w) => put(w, d) };
}

/** The per-expert SwiGLU FFN entries `{prefix}{e}.{gate,up,down}{suffix}` of an MoE layer. */
export function expertEntries(
  c: LlamaConfig,
  l: number,
  prefix: string,
  roles: { gate: string; up: string; down: string },
): TensorEntry[] {
  const { dim, hiddenDim } = c;
  const E = c.moe!.nExperts;
  const out: TensorEntry[] = [];
  for (let e = 0; e < E; e++) {
    const x = `${prefix}${e}.`;
    out.push(
      moeEntry(`${x}${roles.gate}.weight`, [hiddenDim, dim], l, E, (m, d) => (m.experts[e]!.w1 = d)),
      moeEntry(`${x}${roles.up}.weight`, [hiddenDim, dim], l, E, (m, d) => (m.experts[e]!.w3 = d)),
      moeEntry(`${x}${roles.down}.weight`, [dim, hiddenDim], l, E, (m, d) => (m.experts[e]!.w2 = d)),
    );
  }
  return out;
}
