import type { AnyTypedArray, BackendKind, DType, Tensor, TypedArrayFor } from './tensor';

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
   * Also return per-row statistics of the probabilities, computed inside the attention pass
   * (online, beside the softmax; no [T, Tk] row is stored): [nHeads, T, 3] holding, per head and
   * query row, the entropy (nats), the mass on key 0 (the sink), and the mean distance Σⱼ pⱼ·(i − j)
   * with i the query's absolute position. See ATTENTION_ROW_STATS.
   */
  returnRowStats?: boolean;
}

/** Columns of `AttentionResult.rowStats`' last dimension. */
export const ATTENTION_ROW_STATS = ['entropy', 'sink_mass', 'mean_distance'] as const;

export interface AttentionResult {
  /** [T, nHeads * headDim] */
  out: Tensor<'f32'>;
  /** [nHeads, T, Tk] when requested. */
  probs?: Tensor<'f32'>;
  /** [nHeads, T, 3] when requested (see ATTENTION_ROW_STATS). */
  rowStats?: Tensor<'f32'>;
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

  /** Upload data as a tensor of the given shape. */
  tensor(data: Float32Array, shape: readonly number[]): Tensor<'f32'>;
  tensor(data: Int32Array, shape: readonly number[]): Tensor<'i32'>;
  tensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[]): Tensor<D>;
  tensor(data: AnyTypedArray, shape: readonly number[]): Tensor;
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  /** Copy back to the host. */
  read<D extends DType>(t: Tensor<D>): Promise<TypedArrayFor<D>>;
  dispose(...ts: (Tensor | undefined)[]): void;
  /** Resolves when all enqueued work has finished; rejects with DeviceLostError if the device died. */
  sync(): Promise<void>;
  /** Release every resource; the backend is unusable afterwards. */
  destroy(): void;

  /** a [M, K] × b [K, N] → [M, N]; with transposeB, b is [N, K] (the layout of a weight matrix). */
  matmul(a: Tensor<'f32'>, b: Tensor<'f32'>, opts?: { transposeB?: boolean }): Tensor<'f32'>;
  /** Row-wise RMSNorm over the last dim: x / sqrt(mean(x²) + eps) * weight. */
  rmsnorm(x: Tensor<'f32'>, weight: Tensor<'f32'>, eps: number): Tensor<'f32'>;
  /**
   * Rotary embedding as llama2.c applies it: x [T, nHeads * headDim]; adjacent pairs (2i, 2i+1)
   * inside each head rotate by angle pos · theta^(−2i/headDim), pos = pos0 + row.
   */
  rope(x: Tensor<'f32'>, opts: { headDim: number; pos0?: number; theta?: number }): Tensor<'f32'>;
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
  /** table [V, D], ids i32 [T] → [T, D]; an id outside [0, V) throws (cpu) or yields zeros (gpu). */
  embedding(table: Tensor<'f32'>, ids: Tensor<'i32'>): Tensor<'f32'>;
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
