/**
 * The Llama architecture's hyper-parameters and host-side weights, independent of any file format
 * or backend. Formats (llama2.c today, safetensors later) produce these; `LlamaModel` consumes them.
 */

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
  /** dim / nHeads. */
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
}

/** Routing hyper-parameters of a Mixtral-style sparse MoE block. */
export interface MoeConfig {
  /** Experts per block (HF `num_local_experts`). */
  readonly nExperts: number;
  /** Experts each token is routed to (HF `num_experts_per_tok`). */
  readonly topK: number;
  /** Renormalise the top-k gate weights to sum to 1 (Mixtral: true; HF `norm_topk_prob`). */
  readonly normTopKProb: boolean;
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
 * llama2.c (so `y = x · Wᵀ`).
 */
export interface LlamaLayerWeights {
  /** [dim] RMSNorm scale before attention. */
  attentionNorm: Float32Array;
  /** [dim, dim] */
  wq: Float32Array;
  /** [kvDim, dim] */
  wk: Float32Array;
  /** [kvDim, dim] */
  wv: Float32Array;
  /** [dim, dim] */
  wo: Float32Array;
  /** [dim] RMSNorm scale before the FFN. */
  ffnNorm: Float32Array;
  /** [hiddenDim, dim] gate projection. */
  w1: Float32Array;
  /** [dim, hiddenDim] down projection. */
  w2: Float32Array;
  /** [hiddenDim, dim] up projection. */
  w3: Float32Array;
  /**
   * Sparse MoE FFN weights when `config.moe` is set; then w1/w2/w3 above are empty (length 0)
   * and the experts' own matrices are used instead.
   */
  moe?: MoeLayerWeights;
}

/** The per-layer weights that are plain matrices/vectors (everything but `moe`). */
export type LlamaLayerMatrixKey = Exclude<keyof LlamaLayerWeights, 'moe'>;

/** One expert's SwiGLU FFN, shaped like the dense FFN (`hiddenDim` = expert width). */
export interface ExpertWeights {
  /** [hiddenDim, dim] gate projection (HF `experts.{e}.w1`). */
  w1: Float32Array;
  /** [dim, hiddenDim] down projection (HF `experts.{e}.w2`). */
  w2: Float32Array;
  /** [hiddenDim, dim] up projection (HF `experts.{e}.w3`). */
  w3: Float32Array;
}

/** A sparse MoE block's weights. */
export interface MoeLayerWeights {
  /** [nExperts, dim] router (HF `block_sparse_moe.gate.weight`). */
  router: Float32Array;
  experts: ExpertWeights[];
}

/** All weights of a Llama model on the host. */
export interface LlamaWeights {
  /** [vocabSize, dim] */
  tokEmbeddings: Float32Array;
  layers: LlamaLayerWeights[];
  /** [dim] final RMSNorm scale. */
  norm: Float32Array;
  /** [vocabSize, dim] classifier, or null when it is shared with `tokEmbeddings`. */
  output: Float32Array | null;
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
 * FFN counts its router [nExperts, dim] and every expert's three matrices.
 */
export function countParameters(config: LlamaConfig): number {
  const { dim, hiddenDim, kvDim, vocabSize, nLayers, moe } = config;
  const ffn = moe ? moe.nExperts * (3 * hiddenDim * dim + dim) : 3 * hiddenDim * dim;
  const perLayer = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + ffn;
  return vocabSize * dim * (config.sharedClassifier ? 1 : 2) + nLayers * perLayer + dim;
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
