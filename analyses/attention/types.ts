/**
 * Shared shapes of the attention analyses. Everything is per layer and per window of T tokens,
 * row-major, causal (query i sees keys 0..i). Produced from the runtime's hook points
 * `blocks.{l}.attn.hook_rot_q` / `hook_rot_k` (after rope; `hook_q` / `hook_k` in a model without
 * rotary positions, `qkHooks`) and `blocks.{l}.attn.hook_pattern`.
 */

/** Queries and keys of one layer for one window, after rope. */
export interface LayerQK {
  layer: number;
  /** Tokens in the window. */
  T: number;
  nHeads: number;
  /** Query heads h use key head floor(h / (nHeads / nKvHeads)) (grouped-query attention). */
  nKvHeads: number;
  headDim: number;
  /** [T, nHeads * headDim] */
  q: Float32Array;
  /** [T, nKvHeads * headDim] */
  k: Float32Array;
}

/** Attention probabilities of one layer for one window: [nHeads, T, T], zero above the diagonal. */
export interface LayerPattern {
  layer: number;
  T: number;
  nHeads: number;
  probs: Float32Array;
}

/** Which causal entries a sparse-attention scheme keeps: [nHeads, T, T], 1 = kept (0 above the diagonal). */
export interface HeadMasks {
  T: number;
  nHeads: number;
  keep: Uint8Array;
}
