/**
 * A decoder-only transformer's hyper-parameters and host-side weights, independent of any file
 * format or backend. The names follow llama2.c (the first architecture); `block` declares how
 * another architecture differs (see block-spec.ts). Formats (llama2.c, HF safetensors) produce
 * these; `LlamaModel` consumes them.
 */
import { llamaBlockSpec, type BlockSpec } from './block-spec';
import type { WeightArray } from '../../kernels/weight-dtype';

/** Hyper-parameters of a dense Llama model (llama2.c `Config` plus the derived sizes). */
export interface LlamaConfig {
  /** Residual stream width. */
  readonly dim: number;
  /** FFN inner width (w1/w3 rows). */
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  /** Key/value heads; nHeads / nKvHeads query heads share one (grouped-query attention). */
  readonly nKvHeads: number;
  readonly vocabSize: number;
  /** Maximum sequence length (positions 0..seqLen-1). */
  readonly seqLen: number;
  /** True when the classifier reuses the token embedding matrix. */
  readonly sharedClassifier: boolean;
  /** dim / nHeads, or the config's explicit head_dim (Qwen 3, Gemma). */
  readonly headDim: number;
  /** nKvHeads * headDim: width of k and v. */
  readonly kvDim: number;
  /** RMSNorm epsilon (llama2.c: 1e-5). */
  readonly normEps: number;
  /** Rotary base (llama2.c: 10000). */
  readonly ropeTheta: number;
  /**
   * Mixtral-style sparse MoE FFN in every block, or null for a dense FFN. With MoE, `hiddenDim` is
   * each expert's inner width (HF `intermediate_size`).
   */
  readonly moe: MoeConfig | null;
  /** How the blocks differ from llama2.c's; absent for llama2.c checkpoints (`blockOf`). */
  readonly block?: BlockSpec;
  /** The HF architecture (`GPT2LMHeadModel`, …), or absent for llama2.c checkpoints. */
  readonly architecture?: string;
}

/** The block declaration of a config (llama2.c's when it has none). */
export function blockOf(c: LlamaConfig): BlockSpec {
  return c.block ?? llamaBlockSpec(c.nLayers, c.headDim, c.ropeTheta);
}

/** Width of q and of z (the attention output before wo): nHeads · headDim. */
export function qDimOf(c: Pick<LlamaConfig, 'nHeads' | 'headDim'>): number {
  return c.nHeads * c.headDim;
}

/** Routing hyper-parameters of a Mixtral-style sparse MoE block. */
export interface MoeConfig {
  /** Experts per block (HF `num_local_experts`). */
  readonly nExperts: number;
  /** Experts each token is routed to (HF `num_experts_per_tok`). */
  readonly topK: number;
  /** Renormalise the top-k gate weights to sum to 1 (Mixtral: true; HF `norm_topk_prob`). */
  readonly normTopKProb: boolean;
  /**
   * A shared expert every token passes through, scaled by sigmoid(shared_expert_gate · x)
   * (Qwen2-MoE), with its own inner width; absent otherwise.
   */
  readonly sharedExpert?: { readonly hiddenDim: number };
}

/** The seven integers a llama2.c header carries, plus the classifier flag. */
export interface LlamaDims {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

/** Fill in derived sizes and llama2.c's fixed constants. Assumes dims were validated. */
export function llamaConfig(d: LlamaDims): LlamaConfig {
  const headDim = d.dim / d.nHeads;
  return {
    ...d,
    headDim,
    kvDim: d.nKvHeads * headDim,
    normEps: 1e-5,
    ropeTheta: 10000,
    moe: null,
  };
}

/**
 * Weights of one transformer block, row-major, each matrix stored [out, in] as in PyTorch and
 * llama2.c (so `y = x · Wᵀ`). `M` is how the matrices are held on the host: float32 (the default;
 * what tools build and write) or, for a checkpoint loaded to run, 16-bit bits kept as stored
 * (kernels/weight-dtype.ts). Norm scales and biases are always float32.
 */
export interface LlamaLayerWeights<M extends WeightArray = Float32Array> {
  /** [dim] RMSNorm scale before attention. */
  attentionNorm: Float32Array;
  /** [dim, dim] */
  wq: M;
  /** [kvDim, dim] */
  wk: M;
  /** [kvDim, dim] */
  wv: M;
  /** [dim, dim] */
  wo: M;
  /** [dim] RMSNorm scale before the FFN. */
  ffnNorm: Float32Array;
  /** [hiddenDim, dim] gate projection. */
  w1: M;
  /** [dim, hiddenDim] down projection. */
  w2: M;
  /** [hiddenDim, dim] up projection. */
  w3: M;
  /**
   * Sparse MoE FFN weights when `config.moe` is set; then w1/w2/w3 above are empty (length 0)
   * and the experts' own matrices are used instead. A plain (ungated) FFN has an empty w3.
   */
  moe?: MoeLayerWeights<M>;
  /** Optional parts some architectures have (see `OPTIONAL_LAYER_PARTS` for their shapes). */
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  bo?: Float32Array;
  b1?: Float32Array;
  b2?: Float32Array;
  b3?: Float32Array;
  /** LayerNorm biases. */
  attentionNormBias?: Float32Array;
  ffnNormBias?: Float32Array;
  /** Norms of the sublayer outputs (Gemma 2/3 sandwich, OLMo 2 post-norm). */
  postAttentionNorm?: Float32Array;
  postFfnNorm?: Float32Array;
  /** qk-norm weights: [headDim] per head, or [nHeads·headDim] / [kvDim] over the full width. */
  qNorm?: Float32Array;
  kNorm?: Float32Array;
}

/** The optional per-layer vectors, each with its length for a config. */
export type OptionalLayerPart = Exclude<keyof LlamaLayerWeights, LlamaLayerMatrixKey | 'moe'>;

/** The linear maps of a block (held 16-bit when the checkpoint stored them so). */
export const LAYER_MATRICES = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;

export function optionalPartLength(c: LlamaConfig, part: OptionalLayerPart): number {
  const qDim = qDimOf(c);
  const block = blockOf(c);
  const head = block.qkNorm === 'head';
  const lengths: Record<OptionalLayerPart, number> = {
    bq: qDim,
    bk: c.kvDim,
    bv: c.kvDim,
    bo: c.dim,
    b1: c.hiddenDim,
    b2: c.dim,
    b3: c.hiddenDim,
    attentionNormBias: c.dim,
    ffnNormBias: c.dim,
    postAttentionNorm: c.dim,
    postFfnNorm: c.dim,
    qNorm: head ? c.headDim : qDim,
    kNorm: head ? c.headDim : c.kvDim,
  };
  return lengths[part];
}

/** The optional parts a config's layers must have (and no others). */
export function requiredOptionalParts(c: LlamaConfig): OptionalLayerPart[] {
  const b = blockOf(c);
  const parts: OptionalLayerPart[] = [];
  if (b.biases.qkv) parts.push('bq', 'bk', 'bv');
  if (b.biases.o) parts.push('bo');
  if (b.biases.mlp && !c.moe) parts.push('b1', 'b2', ...(b.gated ? (['b3'] as const) : []));
  if (b.norm === 'layer') parts.push('attentionNormBias', 'ffnNormBias');
  if (b.normPlacement !== 'pre') parts.push('postAttentionNorm', 'postFfnNorm');
  if (b.qkNorm !== 'none') parts.push('qNorm', 'kNorm');
  return parts;
}

/** The per-layer weights every architecture has (norm scales and the seven linear maps). */
export type LlamaLayerMatrixKey =
  'attentionNorm' | 'wq' | 'wk' | 'wv' | 'wo' | 'ffnNorm' | 'w1' | 'w2' | 'w3';

/** One expert's SwiGLU FFN, shaped like the dense FFN (`hiddenDim` = expert width). */
export interface ExpertWeights<M extends WeightArray = Float32Array> {
  /** [hiddenDim, dim] gate projection (HF `experts.{e}.w1`). */
  w1: M;
  /** [dim, hiddenDim] down projection (HF `experts.{e}.w2`). */
  w2: M;
  /** [hiddenDim, dim] up projection (HF `experts.{e}.w3`). */
  w3: M;
}

/** A sparse MoE block's weights. */
export interface MoeLayerWeights<M extends WeightArray = Float32Array> {
  /** [nExperts, dim] router (HF `block_sparse_moe.gate.weight`). */
  router: M;
  experts: ExpertWeights<M>[];
  /** Qwen2-MoE: the shared expert (inner width `moe.sharedExpert.hiddenDim`) and its [1, dim] gate. */
  shared?: { expert: ExpertWeights<M>; gate: M };
}

/**
 * All weights of a Llama model on the host; `M` as in `LlamaLayerWeights` (the embeddings and the
 * classifier are matrices too).
 */
export interface LlamaWeights<M extends WeightArray = Float32Array> {
  /** [vocabSize, dim] */
  tokEmbeddings: M;
  layers: LlamaLayerWeights<M>[];
  /** [dim] final RMSNorm scale. */
  norm: Float32Array;
  /** [vocabSize, dim] classifier, or null when it is shared with `tokEmbeddings`. */
  output: M | null;
  /** [seqLen, dim] learned position embeddings (GPT-2). */
  posEmbeddings?: M;
  /** [dim] final LayerNorm bias. */
  normBias?: Float32Array;
}

/** One named weight tensor, named as in Meta's / llama2.c's `model.py` state dict. */
export interface NamedWeight {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/**
 * Every weight with its PyTorch name (`tok_embeddings.weight`, `layers.0.attention.wq.weight`,
 * `layers.0.feed_forward.w1.weight`, `norm.weight`, `output.weight`, …) in a stable order; the
 * data are the same arrays as in `weights` (not copies). A shared classifier is listed once.
 * MoE layers list the router and experts as Mistral's reference code names them
 * (`layers.0.feed_forward.gate.weight`, `layers.0.feed_forward.experts.3.w1.weight`) instead of
 * the dense w1/w2/w3.
 */
export function listWeights(config: LlamaConfig, weights: LlamaWeights): NamedWeight[] {
  const { dim, hiddenDim, kvDim, vocabSize } = config;
  const out: NamedWeight[] = [
    { name: 'tok_embeddings.weight', shape: [vocabSize, dim], data: weights.tokEmbeddings },
  ];
  weights.layers.forEach((w, l) => {
    const p = `layers.${l}.`;
    out.push(
      { name: `${p}attention_norm.weight`, shape: [dim], data: w.attentionNorm },
      { name: `${p}attention.wq.weight`, shape: [dim, dim], data: w.wq },
      { name: `${p}attention.wk.weight`, shape: [kvDim, dim], data: w.wk },
      { name: `${p}attention.wv.weight`, shape: [kvDim, dim], data: w.wv },
      { name: `${p}attention.wo.weight`, shape: [dim, dim], data: w.wo },
      { name: `${p}ffn_norm.weight`, shape: [dim], data: w.ffnNorm },
    );
    const ffn = (f: string, x: { w1: Float32Array; w2: Float32Array; w3: Float32Array }) =>
      out.push(
        { name: `${f}w1.weight`, shape: [hiddenDim, dim], data: x.w1 },
        { name: `${f}w2.weight`, shape: [dim, hiddenDim], data: x.w2 },
        { name: `${f}w3.weight`, shape: [hiddenDim, dim], data: x.w3 },
      );
    if (config.moe) {
      const moe = layerMoe(w, l);
      out.push({ name: `${p}feed_forward.gate.weight`, shape: [config.moe.nExperts, dim], data: moe.router });
      moe.experts.forEach((x, e) => ffn(`${p}feed_forward.experts.${e}.`, x));
    } else ffn(`${p}feed_forward.`, w);
  });
  out.push({ name: 'norm.weight', shape: [dim], data: weights.norm });
  if (weights.output) out.push({ name: 'output.weight', shape: [vocabSize, dim], data: weights.output });
  return out;
}

/** A layer's MoE weights, or a clear error when an MoE config's layer lacks them. */
function layerMoe(w: LlamaLayerWeights, l: number): MoeLayerWeights {
  if (!w.moe) throw new Error(`layer ${l} has no MoE weights, but the config is a mixture of experts`);
  return w.moe;
}

/**
 * Number of stored parameters (a shared classifier counted once; rotary tables excluded). An MoE
 * FFN counts its router [nExperts, dim] and every expert's matrices (and a shared expert with its
 * gate); biases, extra norms and learned positions count when the architecture has them.
 */
export function countParameters(config: LlamaConfig): number {
  const { dim, hiddenDim, kvDim, vocabSize, nLayers, moe } = config;
  const block = blockOf(config);
  const ffnMatrices = block.gated ? 3 : 2;
  const shared = moe?.sharedExpert ? 3 * moe.sharedExpert.hiddenDim * dim + dim : 0;
  const ffn = moe ? moe.nExperts * (3 * hiddenDim * dim + dim) + shared : ffnMatrices * hiddenDim * dim;
  const extras = requiredOptionalParts(config).reduce((n, p) => n + optionalPartLength(config, p), 0);
  const perLayer = 2 * dim + 2 * qDimOf(config) * dim + 2 * kvDim * dim + ffn + extras;
  const positions = block.positions.kind === 'learned' ? config.seqLen * dim : 0;
  const finalNorm = block.norm === 'layer' ? 2 * dim : dim;
  return vocabSize * dim * (config.sharedClassifier ? 1 : 2) + nLayers * perLayer + finalNorm + positions;
}

/**
 * Zero-filled weights of the right sizes (tools and tests fill them in, then `writeLlama2c`).
 * The classifier is allocated only when `config.sharedClassifier` is false. With `config.moe`,
 * each layer gets a router and `nExperts` experts, and empty dense w1/w2/w3.
 */
export function allocateLlamaWeights(config: LlamaConfig): LlamaWeights {
  const { dim, hiddenDim, kvDim, vocabSize, moe } = config;
  const f = (n: number) => new Float32Array(n);
  const ffn = () => ({ w1: f(hiddenDim * dim), w2: f(dim * hiddenDim), w3: f(hiddenDim * dim) });
  return {
    tokEmbeddings: f(vocabSize * dim),
    layers: Array.from({ length: config.nLayers }, () => ({
      attentionNorm: f(dim),
      wq: f(dim * dim),
      wk: f(kvDim * dim),
      wv: f(kvDim * dim),
      wo: f(dim * dim),
      ffnNorm: f(dim),
      ...(moe
        ? {
            w1: f(0),
            w2: f(0),
            w3: f(0),
            moe: { router: f(moe.nExperts * dim), experts: Array.from({ length: moe.nExperts }, ffn) },
          }
        : ffn()),
    })),
    norm: f(dim),
    output: config.sharedClassifier ? null : f(vocabSize * dim),
  };
}
