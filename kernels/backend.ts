import type { AnyTypedArray, BackendKind, DType, FloatDType, Tensor, TypedArrayFor } from './tensor';
import type { WeightArray } from './weight-dtype';

/** Options of causal grouped-query attention. */
export interface AttentionOptions {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /**
   * Absolute position of the first query row. Query row i sits at position pos0 + i and attends
   * keys 0..pos0 + i (inclusive). Keys beyond are ignored, so k/v may be a larger KV cache.
   */
  pos0?: number;
  /** Also return the attention probabilities [nHeads, T, Tk] (0 where masked). */
  returnProbs?: boolean;
  /**
   * Also return the attention scores [nHeads, T, Tk] before the softmax (TransformerLens'
   * hook_attn_scores): exactly the values the softmax consumes, i.e. q·k scaled by `scale` and
   * soft-capped when `softcap` is set, and −Infinity where masked (keys after the query, before its
   * window, and KV-cache rows beyond pos0 + i). softmax(scores) over the last dim is the pattern.
   */
  returnScores?: boolean;
  /**
   * Also return per-row statistics of the probabilities, computed inside the attention pass
   * (online, beside the softmax; no [T, Tk] row is stored): [nHeads, T, 3] holding, per head and
   * query row, the entropy (nats), the mass on key 0 (the sink), and the mean distance Σⱼ pⱼ·(i − j)
   * with i the query's absolute position. See ATTENTION_ROW_STATS.
   */
  returnRowStats?: boolean;
  /**
   * Also return `patternProbe(probs, probe)` of this attention's probabilities, computed beside
   * the attention pass where the backend can (the CPU probes each row while it is in cache, with
   * the entropy from the scores, and stores no pattern). Needs pos0 = 0 and Tk = T.
   */
  probe?: PatternProbeOptions;
  /** Score scale (default 1/√headDim): Gemma's query_pre_attn_scalar^−½, Granite's attention_multiplier. */
  scale?: number;
  /**
   * Soft-capping of the scaled scores before the mask and softmax: s → cap·tanh(s / cap)
   * (Gemma 2's attn_logit_softcapping). Absent or 0: no capping.
   */
  softcap?: number;
  /**
   * Sliding window: the query at absolute position p sees key j only when p − j < window (itself and
   * the window − 1 keys before it, as HF's sliding_window and gemma_pytorch). Absent: full causal.
   */
  window?: number;
}

/** Elementwise activations of the FFNs (HF `hidden_act` / `hidden_activation` names mapped). */
export type ActivationKind = 'silu' | 'gelu_tanh' | 'gelu' | 'relu' | 'sigmoid';

/**
 * Llama 3.x rotary frequency scaling (HF rope_scaling type "llama3"), or plain position
 * interpolation (type "linear": every frequency divided by factor).
 */
export type RopeScaling =
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositions: number;
    }
  | { type: 'linear'; factor: number };

/** Options of `Backend.rope`. */
export interface RopeOptions {
  headDim: number;
  /** Absolute position of row 0 (default 0). */
  pos0?: number;
  /** Base of the frequencies (default 10000): pair i turns at pos · theta^(−2i/rotaryDim). */
  theta?: number;
  /** Leading dims of each head that rotate (NeoX partial rotary); even, ≤ headDim; default headDim. */
  rotaryDim?: number;
  /**
   * 'interleaved' (llama2.c / Meta: dims 2i and 2i+1 form pair i) or 'half' (HF rotate_half / NeoX:
   * dims i and i + rotaryDim/2 form pair i). Default 'interleaved'.
   */
  style?: 'interleaved' | 'half';
  /** Frequency scaling; absent: none. */
  scaling?: RopeScaling;
}

/** Columns of `AttentionResult.rowStats`' last dimension. */
export const ATTENTION_ROW_STATS = ['entropy', 'sink_mass', 'mean_distance'] as const;

export interface AttentionResult {
  /** [T, nHeads * headDim] */
  out: Tensor<'f32'>;
  /** [nHeads, T, Tk] when requested. */
  probs?: Tensor<'f32'>;
  /** [nHeads, T, Tk] pre-softmax scores (−Infinity where masked) when `returnScores` was set. */
  scores?: Tensor<'f32'>;
  /** [nHeads, T, 3] when requested (see ATTENTION_ROW_STATS). */
  rowStats?: Tensor<'f32'>;
  /** `patternProbe`'s rows and lines when `probe` was given. */
  probe?: PatternProbeResult;
}

/** Options of `Backend.patternProbe`. */
export interface PatternProbeOptions {
  /** Top-k coverage sizes, ascending positive integers. */
  ks: readonly number[];
  /** Leading keys counted as the attention sink. */
  nSink: number;
  /** Locality buckets (≥ `bucketCount(T)` of kernels/pattern-probe.cpu). */
  nBuckets: number;
}

export interface PatternProbeResult {
  /**
   * [nHeads, T, F], per causal query row: entropy, sink_mass, mean_distance, k90, k95, k99,
   * coverage per k, locality per bucket (`patternProbeColumns` / `patternProbeLayout`).
   */
  rows: Tensor<'f32'>;
  /** [nHeads, 2, T]: column sums C_j = Σ_i p_ij, then diagonal sums D_o = Σ_i p_{i,i−o}. */
  lines: Tensor<'f32'>;
}

export interface TopKResult {
  /** [rows, k], descending. */
  values: Tensor<'f32'>;
  /** [rows, k], column index of each value; ties go to the lower index. */
  indices: Tensor<'i32'>;
}

/** Options of `moeRoute` (Mixtral-style top-k routing with the interventions of the workbench). */
export interface MoeRouteOptions {
  /** Experts chosen per row, in [1, E] and at most the number of enabled experts. */
  topK: number;
  /** Renormalise the chosen experts' gates to sum to 1 (Mixtral: true). */
  normTopKProb: boolean;
  /** Softmax temperature (> 0, default 1): probabilities are softmax(logits / temperature). */
  temperature?: number;
  /**
   * [E] bias added to the probabilities for CHOOSING the top-k only; gates keep the unbiased
   * probabilities (auxiliary-loss-free balancing, as DeepSeek-V3 adds b_i to its scores).
   */
  bias?: Float32Array | readonly number[];
  /**
   * Expert indices that may not be chosen: their logits count as −∞, so their probabilities are 0
   * and the others' are renormalised over the enabled experts.
   */
  disabled?: readonly number[];
}

export interface MoeRouteResult {
  /** [T, k] chosen experts, best first (probability + bias descending, ties to the lower index). */
  experts: Tensor<'i32'>;
  /** [T, k] gate weight of each chosen expert. */
  gates: Tensor<'f32'>;
  /** [T, E] router probabilities (0 for disabled experts). */
  probs: Tensor<'f32'>;
}

/** Options of `Backend.saeEncode`. */
export interface SaeEncodeOptions {
  /** ReLU, TopK (the k largest pre-activations, then ReLU) or JumpReLU (θ = exp(logThreshold)). */
  kind: 'relu' | 'topk' | 'jumprelu';
  /** TopK: latents kept per row, in [1, dSae]. */
  k?: number;
  /** JumpReLU: [dSae] log-thresholds. */
  logThreshold?: Tensor<'f32'>;
}

export interface SaeEncodeResult {
  /** [n, dSae] pre-activations (x − b_dec)·W_enc + b_enc. */
  pre: Tensor<'f32'>;
  /** [n, dSae] activations (zeros where inactive). */
  latents: Tensor<'f32'>;
}

/** Options of `Backend.rowAffine`: out = scale·(x + biasScale·bias[col] − minus). */
export interface RowAffineOptions {
  /** A row vector with one value per column of x (any shape of that size). */
  bias?: Tensor<'f32'>;
  /** Default 1. */
  biasScale?: number;
  /** Same shape as x. */
  minus?: Tensor<'f32'>;
  /** Default 1. */
  scale?: number;
}

/** Options of `Backend.saeReconStats`. */
export interface SaeReconStatsOptions {
  /** TopK AuxK: [n, dIn] reconstruction ê of the residual from the dead latents (no b_dec). */
  auxRecon?: Tensor<'f32'>;
  /** AuxK's α (required with auxRecon). */
  auxCoefficient?: number;
}

export interface SaeReconStatsResult {
  /** [2]: Σ err² and Σ (err + ê)² (0 without auxRecon). */
  sums: Tensor<'f32'>;
  /** With auxRecon: [n, dIn] ∂(α·L_aux)/∂ê = (2α / Σ err²)·(err + ê); zeros when Σ err² = 0. */
  auxGrad?: Tensor<'f32'>;
}

/** Options of `Backend.saeBackward`. */
export interface SaeBackwardOptions {
  kind: 'relu' | 'topk' | 'jumprelu';
  /** ReLU: λ of the decoder-norm-weighted L1; JumpReLU: λ of L0 (default 0). */
  l1Coefficient?: number;
  /** JumpReLU: width ε of the rectangle kernel. */
  bandwidth?: number;
  /** ReLU: decoder [dSae, dIn] (its row norms weight the L1 penalty). */
  wDec?: Tensor<'f32'>;
  /** JumpReLU: [dSae] log-thresholds. */
  logThreshold?: Tensor<'f32'>;
  /** TopK AuxK: the aux latents (`saeAuxLatents`) and ∂L/∂f through them, auxGrad·W_decᵀ. */
  aux?: { latents: Tensor<'f32'>; gf: Tensor<'f32'> };
}

export interface SaeBackwardResult {
  /** [n, dSae] ∂L/∂pre. */
  dPre: Tensor<'f32'>;
  /** [1, dSae] ∂L/∂b_enc = Σ_i ∂L/∂pre_i. */
  dbEnc: Tensor<'f32'>;
  /** [dSae, 3] per latent: fired in the batch (0/1), rows active, Σ_i f_ij·‖W_dec[j]‖ (relu). */
  latentStats: Tensor<'f32'>;
  /** ReLU: [dSae] c_j with ∂L1/∂W_dec[j] = c_j·W_dec[j] (for `saeDecoderGrad`'s rowScale). */
  decoderRowScale?: Tensor<'f32'>;
  /** JumpReLU: [dSae] ∂L/∂logThreshold (straight-through estimator). */
  dLogThreshold?: Tensor<'f32'>;
}

/** Options of `Backend.saeDecoderGrad`. */
export interface SaeDecoderGradOptions {
  /** [rows] added as rowScale_j·w_j before the projection. */
  rowScale?: Tensor<'f32'>;
  /** Remove each row's component along w_j (the unit-norm decoder constraint). */
  project: boolean;
}

/** Options of `Backend.adamUpdate` (one Adam step with bias correction). */
export interface AdamUpdateOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step number t of the bias corrections 1 − β^t. */
  step: number;
}

export interface AdamUpdateResult {
  param: Tensor<'f32'>;
  m: Tensor<'f32'>;
  v: Tensor<'f32'>;
}

/**
 * How a backend holds weights that a checkpoint stores as 16-bit floats (README "Precision").
 * Both backends keep F16 and BF16 weight matrices and embeddings 16-bit, as stored (the CPU in a
 * Uint16Array, WebGPU two to a u32 word), and decode them inside the kernels that read weights
 * (matmul's b, embedding's table); small vectors (norm scales, biases) are float32.
 */
export interface WeightPrecision {
  /** Weight tensors keep the element type the checkpoint stored (f32, f16 or bf16). */
  readonly storage: 'as stored';
  /**
   * WebGPU: whether the device has the `shader-f16` feature (requested whenever the adapter offers
   * it); the kernels decode with core WGSL (`unpack2x16float`, a shift for bf16), so it is
   * reported, not needed. Always false on the CPU.
   */
  readonly shaderF16: boolean;
}

/**
 * The compute contract. `cpu` and `webgpu` implement it identically (to float32 tolerance); the
 * runtime and analyses are written once against it.
 *
 * Ops are enqueued and return immediately; `read` resolves once the result is available. Every op
 * returns a NEW tensor the caller owns and must `dispose` (inputs are never mutated, except the
 * explicit destination of `writeRows`).
 */
export interface Backend {
  readonly kind: BackendKind;
  /** Human-readable description: for webgpu, the adapter (vendor, architecture, device). */
  readonly description: string;
  /** How weights are held (README "Precision"). */
  readonly weightPrecision: WeightPrecision;

  /** Upload data as a tensor of the given shape. */
  tensor(data: Float32Array, shape: readonly number[]): Tensor<'f32'>;
  tensor(data: Int32Array, shape: readonly number[]): Tensor<'i32'>;
  tensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[]): Tensor<D>;
  tensor(data: AnyTypedArray, shape: readonly number[]): Tensor;
  /**
   * Like `tensor`, but ownership of `data` passes to the backend: the CPU backend keeps the array
   * itself as the tensor's storage (no copy), WebGPU uploads it (the host array can then be
   * dropped). The caller must neither write nor rely on `data` afterwards. For weights loaded once
   * (`LlamaModel.load` with `transfer`); `tensor` keeps copying for everyone else.
   *
   * @example
   * const emb = b.adoptTensor(file.float32('wte.weight'), [vocab, dim]); // no second copy on the CPU
   */
  adoptTensor(data: Float32Array, shape: readonly number[]): Tensor<'f32'>;
  adoptTensor(data: Int32Array, shape: readonly number[]): Tensor<'i32'>;
  adoptTensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[]): Tensor<D>;
  adoptTensor(data: AnyTypedArray, shape: readonly number[]): Tensor;
  /**
   * Upload a weight as the host holds it: float32 values become an f32 tensor, 16-bit bits
   * (kernels/weight-dtype.ts) an f16 / bf16 tensor of the same bits, never widened. With `adopt`,
   * ownership passes as with `adoptTensor` (the CPU keeps the array itself). Only matmul's b and
   * embedding's table accept 16-bit tensors.
   *
   * @example
   * const wq = b.weightTensor(halfArray('bf16', bits), [dim, dim], { adopt: true }); // 2 bytes a value
   */
  weightTensor(data: WeightArray, shape: readonly number[], opts?: { adopt?: boolean }): Tensor<FloatDType>;
  /**
   * Bytes of the largest tensor one kernel can read (WebGPU: the device's
   * maxStorageBufferBindingSize, capped by maxBufferSize; CPU: unlimited). A model splits a larger
   * embedding / unembedding by rows (runtime/model/row-chunks.ts).
   */
  readonly maxTensorBytes: number;
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  /** Copy back to the host. */
  read<D extends DType>(t: Tensor<D>): Promise<TypedArrayFor<D>>;
  dispose(...ts: (Tensor | undefined)[]): void;
  /** Resolves when all enqueued work has finished; rejects with DeviceLostError if the device died. */
  sync(): Promise<void>;
  /** Release every resource; the backend is unusable afterwards. */
  destroy(): void;

  /**
   * a [M, K] × b [K, N] → [M, N]; with transposeB, b is [N, K] (the layout of a weight matrix);
   * with transposeA, a is [K, M] (weight gradients such as Xᵀ·dY without a transposed copy).
   *
   * @example
   * const gW = b.matmul(x, dY, { transposeA: true }); // x [n, dIn], dY [n, dOut] → [dIn, dOut]
   */
  matmul(
    a: Tensor<'f32'>,
    b: Tensor<FloatDType>,
    opts?: { transposeA?: boolean; transposeB?: boolean; bias?: Tensor<'f32'> },
  ): Tensor<'f32'>;
  /**
   * Row-wise RMSNorm: x / sqrt(mean(x²) + eps) * weight. Over the whole last dim, or with
   * `groupSize` over each run of groupSize consecutive values (per-head qk-norm: x [T, nHeads·hd],
   * groupSize hd, weight [hd]); weight has the normalised length.
   */
  rmsnorm(x: Tensor<'f32'>, weight: Tensor<'f32'>, eps: number, opts?: { groupSize?: number }): Tensor<'f32'>;
  /**
   * Row-wise LayerNorm over the last dim: (x − mean) / sqrt(var + eps) · weight + bias (biased
   * variance, as torch.nn.LayerNorm); without bias, none is added.
   *
   * @example
   * const h = b.layernorm(x, ln1Weight, ln1Bias, 1e-5);
   */
  layernorm(
    x: Tensor<'f32'>,
    weight: Tensor<'f32'>,
    bias: Tensor<'f32'> | undefined,
    eps: number,
  ): Tensor<'f32'>;
  /**
   * Rotary embedding of x [T, nHeads * headDim] at positions pos0 + row: interleaved (llama2.c)
   * or half-split (HF / NeoX) pairs, over all or the leading `rotaryDim` dims of each head, with
   * optional Llama 3 or linear frequency scaling.
   */
  rope(x: Tensor<'f32'>, opts: RopeOptions): Tensor<'f32'>;
  /**
   * Elementwise activation: silu, gelu_tanh (HF gelu_new / gelu_pytorch_tanh), gelu (exact, erf),
   * relu, sigmoid.
   */
  activation(x: Tensor<'f32'>, kind: ActivationKind): Tensor<'f32'>;
  /** act(gate) · up elementwise (SwiGLU with silu, GeGLU with gelu_tanh). */
  gatedActivation(gate: Tensor<'f32'>, up: Tensor<'f32'>, kind: ActivationKind): Tensor<'f32'>;
  /** cap · tanh(x / cap), elementwise (Gemma 2's final-logit soft-capping). */
  softcap(x: Tensor<'f32'>, cap: number): Tensor<'f32'>;
  /** Causal grouped-query attention; q [T, nHeads*headDim], k/v [Tk, nKvHeads*headDim]. */
  attention(q: Tensor<'f32'>, k: Tensor<'f32'>, v: Tensor<'f32'>, opts: AttentionOptions): AttentionResult;
  /** probs [nHeads, T, Tk] × v [Tk, nKvHeads*headDim] → z [T, nHeads*headDim] (grouped heads). */
  attentionApply(
    probs: Tensor<'f32'>,
    v: Tensor<'f32'>,
    opts: { nHeads: number; nKvHeads: number; headDim: number },
  ): Tensor<'f32'>;
  /** Numerically stable softmax over the last dim. */
  softmax(x: Tensor<'f32'>): Tensor<'f32'>;
  /** silu(gate) * up, elementwise. */
  swiglu(gate: Tensor<'f32'>, up: Tensor<'f32'>): Tensor<'f32'>;
  /**
   * table [V, D] (f32, or 16-bit decoded as it is read), ids i32 [T] → [T, D]; an id outside
   * [0, V) throws (cpu) or yields zeros (gpu). With `rowOffset`, the table is rows rowOffset..
   * rowOffset + V − 1 of a larger one (a split embedding): ids in that range gather their row, all
   * others give a zero row on both backends, so the chunks' results sum to the whole gather.
   */
  embedding(table: Tensor<FloatDType>, ids: Tensor<'i32'>, opts?: { rowOffset?: number }): Tensor<'f32'>;
  /**
   * Pruned copy of a weight: w with every entry whose bit in `mask` is 0 set to 0. `mask` is i32
   * [ceil(w.size / 32)], entry i at bit i & 31 of word i >> 5 (`packMask`); w is not modified.
   */
  applyMask(w: Tensor<'f32'>, mask: Tensor<'i32'>): Tensor<'f32'>;
  /** a + b, same shape. */
  add(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'>;
  /** Row-wise top-k over the last dim of x [R, C]. */
  topk(x: Tensor<'f32'>, k: number): TopKResult;
  /** Copy src [T, D] into rows rowOffset..rowOffset+T of dst [N, D] in place (KV cache). */
  writeRows(dst: Tensor<'f32'>, src: Tensor<'f32'>, rowOffset: number): void;
  /**
   * Copy src [R, n] into columns colOffset..colOffset+n of dst [R, N] in place (the logits of a
   * split unembedding, chunk by chunk).
   */
  writeColumns(dst: Tensor<'f32'>, src: Tensor<'f32'>, colOffset: number): void;
  /**
   * MoE routing of router logits [T, E]: probabilities, top-k experts and their gate weights.
   *
   * @example
   * const { experts, gates, probs } = b.moeRoute(logits, { topK: 2, normTopKProb: true });
   */
  moeRoute(logits: Tensor<'f32'>, opts: MoeRouteOptions): MoeRouteResult;
  /**
   * Weighted combination of expert outputs: y [n, D], slots i32 [T, k], gates [T, k] → [T, D] with
   * out[t] = Σ_j gates[t, j] · y[slots[t, j]], summed over j in order. A slot of −1 is skipped; one
   * outside [−1, n) throws (cpu) or is skipped (gpu). Every output row is written by its own
   * threads, so no two experts race on a token.
   *
   * @example
   * const out = b.moeCombine(yAll, slots, gates); // yAll: every expert's rows, expert by expert
   */
  moeCombine(y: Tensor<'f32'>, slots: Tensor<'i32'>, gates: Tensor<'f32'>): Tensor<'f32'>;
  /**
   * Attention probes of a causal pattern probs [nHeads, T, T] (entries above the diagonal ignored):
   * per query row the metrics of `probeRow` (each row normalised by its own sum), per head the
   * column and diagonal sums. The CPU backend throws on a row without mass; webgpu yields NaN there.
   *
   * @example
   * const { rows, lines } = b.patternProbe(probs, { ks: [1, 8], nSink: 1, nBuckets: bucketCount(T) });
   */
  patternProbe(probs: Tensor<'f32'>, opts: PatternProbeOptions): PatternProbeResult;
  /**
   * SAE encoder of a batch x [n, dIn] with W_enc [dIn, dSae]: pre = (x − b_dec)·W_enc + b_enc and
   * the kind's activation (analyses/sae/forward.ts). TopK ties go to the lower latent index.
   *
   * @example
   * const { pre, latents } = b.saeEncode(x, wEnc, bEnc, bDec, { kind: 'topk', k: 8 });
   */
  saeEncode(
    x: Tensor<'f32'>,
    wEnc: Tensor<'f32'>,
    bEnc: Tensor<'f32'>,
    bDec: Tensor<'f32'>,
    opts: SaeEncodeOptions,
  ): SaeEncodeResult;
  /**
   * AuxK latents: per row of pre [n, dSae], the auxK largest pre-activations among latents with
   * dead[j] ≠ 0 (i32 [dSae]), ReLU'd, dense [n, dSae] with zeros elsewhere.
   *
   * @example
   * const auxLatents = b.saeAuxLatents(pre, deadFlags, 32);
   */
  saeAuxLatents(pre: Tensor<'f32'>, dead: Tensor<'i32'>, auxK: number): Tensor<'f32'>;
  /**
   * scale·(x + biasScale·bias[col] − minus) for x [..., C]: centring, residuals and scaled
   * residuals in one pass.
   *
   * @example
   * const err = b.rowAffine(recon, { bias: bDec, minus: x }); // x̂ − x
   */
  rowAffine(x: Tensor<'f32'>, opts: RowAffineOptions): Tensor<'f32'>;
  /**
   * Sums of squares of the SAE residual err = x̂ − x [n, dIn] (and of err + ê for AuxK), plus
   * AuxK's gradient with respect to ê, which needs Σ err² (kept on the device).
   *
   * @example
   * const { sums, auxGrad } = b.saeReconStats(err, { auxRecon, auxCoefficient: 1 / 32 });
   */
  saeReconStats(err: Tensor<'f32'>, opts: SaeReconStatsOptions): SaeReconStatsResult;
  /**
   * The elementwise part of the SAE backward pass, one latent column at a time: ∂L/∂pre from
   * gf = ∂MSE/∂f = (2/n)(x̂ − x)·W_decᵀ [n, dSae], the kind's penalty and AuxK; the column sums
   * and per-latent statistics come with it (analyses/sae/backward.ts).
   *
   * @example
   * const { dPre, dbEnc, latentStats } = b.saeBackward(pre, latents, gf, { kind: 'topk' });
   */
  saeBackward(
    pre: Tensor<'f32'>,
    latents: Tensor<'f32'>,
    gf: Tensor<'f32'>,
    opts: SaeBackwardOptions,
  ): SaeBackwardResult;
  /**
   * Decoder gradient g [rows, cols] finished against the decoder w: h_j = g_j + rowScale_j·w_j,
   * then with `project` the component along w_j removed (analyses/sae/decoder-norm.ts).
   *
   * @example
   * const gW = b.saeDecoderGrad(gRaw, wDec, { project: true });
   */
  saeDecoderGrad(g: Tensor<'f32'>, w: Tensor<'f32'>, opts: SaeDecoderGradOptions): Tensor<'f32'>;
  /**
   * Every non-zero row of w [rows, cols] scaled to unit Euclidean norm.
   *
   * @example
   * const unit = b.normalizeRows(wDec);
   */
  normalizeRows(w: Tensor<'f32'>): Tensor<'f32'>;
  /**
   * One Adam step (bias-corrected, as analyses/sae/adam.ts) of a parameter with its moments;
   * returns the new parameter and moments, leaving the inputs as they were.
   *
   * @example
   * const next = b.adamUpdate(w, gW, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 });
   */
  adamUpdate(
    param: Tensor<'f32'>,
    grad: Tensor<'f32'>,
    m: Tensor<'f32'>,
    v: Tensor<'f32'>,
    opts: AdamUpdateOptions,
  ): AdamUpdateResult;
}

/** Thrown when the GPU device is lost. Recover by creating a new backend and reloading weights. */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown when no WebGPU adapter/device can be acquired. Never silently replaced by the CPU. */
export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}
