/**
 * What a sparse-attention mask costs: the model's loss over a text when, in every layer, each
 * head's attention is restricted to the entries a mask keeps. The mask is built per window and
 * layer from the model's own rotated queries and keys (`attn.hook_rot_q` / `hook_rot_k`; `qkHooks`) and its
 * dense probabilities; the hook on `attn.hook_pattern` replaces them with the renormalised kept
 * mass p'ᵢⱼ = pᵢⱼ·mᵢⱼ / Σⱼ pᵢⱼ·mᵢⱼ — exactly softmax over the kept scores only — and the block
 * recomputes its output from it. Layers after a masked one see the masked model's activations, as
 * a sparse-attention kernel would. With `kvElements` (Mustafar) the cached K and V themselves are
 * pruned element-wise before the block attends, so V's pruning is in the loss too.
 */
import type { Tensor } from '../../kernels/tensor';
import type { Hooks } from '../../runtime/hooks';
import { evaluateLoss } from '../../runtime/eval/loss';
import type { LlamaModel } from '../../runtime/model/llama';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { pruneKvElements } from './masks/mustafar';
import { qkHooks } from './qk-hooks';
import type { HeadMasks, LayerPattern, LayerQK } from './types';

/** Builds the mask of one layer for one window. */
export type MaskFn = (input: { qk: LayerQK; pattern: LayerPattern }) => HeadMasks;

export interface MaskedLossOptions {
  /** Layers to mask (default all). */
  layers?: readonly number[];
  /**
   * Mustafar: every cached key (after rope) and value vector of each KV head keeps only its this
   * many largest-|x| elements (`pruneKvElements`), in every masked layer; the mask is built from
   * the pruned keys and the block attends with the pruned K and V.
   */
  kvElements?: number;
  /** More hooks to run in the same passes (e.g. reading `attn.hook_v`); not the masked points. */
  extraHooks?: Hooks;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
  fileName?: string;
  /** Also return every target's masked loss (`MaskedLossResult.perToken`). */
  perToken?: boolean;
}

export interface MaskedLossResult {
  loss: number;
  tokens: number;
  windows: number;
  /** Kept causal entries ÷ all causal entries, over every masked layer, head and window. */
  density: number;
  /** Mean over query rows of the dense attention mass the mask keeps. */
  recall: number;
  /** Kept causal entries (for FLOP and byte accounting). */
  keptEntries: number;
  causalEntries: number;
  /** With `perToken`: the masked loss of each target, as `LossResult.perToken` orders them. */
  perToken?: Float32Array;
}

/**
 * @example
 * const r = await maskedLoss(model, tok, text, ({ qk, pattern }) => buildMask('topk', { qk, pattern }, 16));
 * r.loss - dense.loss; // the cost of keeping 16 keys per query
 */
export async function maskedLoss(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  mask: MaskFn,
  options: MaskedLossOptions = {},
): Promise<MaskedLossResult> {
  const { nLayers, nHeads, nKvHeads, headDim } = model.config;
  const layers = options.layers ?? Array.from({ length: nLayers }, (_, l) => l);
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers)
      throw new RangeError(`maskedLoss: layer ${l} is outside [0, ${nLayers - 1}]`);
  }
  const b = model.backend;
  const stats = { kept: 0, causal: 0, recallSum: 0, rows: 0 };
  const hooks: Record<string, Hooks[string]> = {};
  for (const layer of layers) {
    let q: Promise<Float32Array> | undefined;
    let k: Promise<Float32Array> | undefined;
    const names = qkHooks(model.config, layer);
    hooks[names.q] = (t) => void (q = b.read(t));
    const prune = options.kvElements;
    if (prune === undefined) hooks[names.k] = (t) => void (k = b.read(t));
    else {
      const pruned = async (t: Tensor<'f32'>) => pruneKvElements(await b.read(t), headDim, prune);
      hooks[names.k] = async (t: Tensor<'f32'>) => {
        const x = pruned(t);
        k = x;
        return b.tensor<'f32'>(await x, t.shape);
      };
      hooks[`blocks.${layer}.attn.hook_v`] = async (t: Tensor<'f32'>) =>
        b.tensor<'f32'>(await pruned(t), t.shape);
    }
    hooks[`blocks.${layer}.attn.hook_pattern`] = async (t: Tensor<'f32'>) => {
      const [H, T, Tk] = t.shape as [number, number, number];
      if (Tk !== T) throw new Error('maskedLoss: masks need the whole window (no KV cache)');
      const probs = await b.read(t);
      const qk: LayerQK = { layer, T, nHeads, nKvHeads, headDim, q: await q!, k: await k! };
      const pattern: LayerPattern = { layer, T, nHeads: H, probs };
      const m = mask({ qk, pattern });
      if (m.T !== T || m.nHeads !== H || m.keep.length !== H * T * T)
        throw new Error(`maskedLoss: mask shape [${m.nHeads}, ${m.T}, ${m.T}] ≠ pattern [${H}, ${T}, ${T}]`);
      return b.tensor<'f32'>(applyMask(probs, m, stats), [H, T, T]);
    };
  }
  for (const name of Object.keys(options.extraHooks ?? {})) {
    if (name in hooks) throw new Error(`maskedLoss: extra hook ${name} would replace the mask's own hook`);
  }
  const r = await evaluateLoss(model, tokenizer, text, {
    hooks: { ...options.extraHooks, ...hooks },
    signal: options.signal,
    onProgress: options.onProgress,
    fileName: options.fileName,
    perToken: options.perToken,
  });
  return {
    loss: r.loss,
    tokens: r.tokens,
    windows: r.windows,
    density: stats.kept / stats.causal,
    recall: stats.recallSum / stats.rows,
    keptEntries: stats.kept,
    causalEntries: stats.causal,
    ...(r.perToken ? { perToken: r.perToken } : {}),
  };
}

/**
 * Renormalised kept mass per row (a fresh array); accumulates density and recall into `stats`.
 * A row whose kept mass is 0 (possible only with a mask that drops the diagonal) keeps its
 * dense row rather than dividing by zero.
 */
export function applyMask(
  probs: Float32Array,
  m: HeadMasks,
  stats: { kept: number; causal: number; recallSum: number; rows: number },
): Float32Array {
  const { T, nHeads } = m;
  const out = new Float32Array(probs.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < T; i++) {
      const o = (h * T + i) * T;
      let kept = 0;
      let n = 0;
      for (let j = 0; j <= i; j++) {
        if (m.keep[o + j]) {
          kept += probs[o + j]!;
          n++;
        }
      }
      stats.kept += n;
      stats.causal += i + 1;
      stats.recallSum += kept;
      stats.rows++;
      if (kept > 0) {
        for (let j = 0; j <= i; j++) if (m.keep[o + j]) out[o + j] = probs[o + j]! / kept;
      } else {
        for (let j = 0; j <= i; j++) out[o + j] = probs[o + j]!;
      }
    }
  }
  return out;
}
