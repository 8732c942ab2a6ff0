/**
 * What differs between the transformer architectures the runtime runs, as data: norm kind and
 * placement, activation, positions, rotary variant, residual layout, biases, scales and caps,
 * per-layer attention windows. One forward (`llama-block.ts`, `llama.ts`) reads this declaration;
 * there is no forward per model. Each architecture's spec is built from its config.json by
 * `runtime/model/arch/*` (see the registry there).
 */
import type { ActivationKind, RopeScaling } from '../../kernels/backend';

/** How positions enter the model. */
export type PositionSpec =
  | { kind: 'learned' }
  | {
      kind: 'rope';
      /** 'interleaved' (llama2.c / Meta) or 'half' (HF rotate_half, NeoX). */
      style: 'interleaved' | 'half';
      /** Leading dims of each head that rotate (NeoX rotary_pct); headDim for full rotary. */
      rotaryDim: number;
    };

/** Per-layer attention variant (Gemma 2/3 and Mistral sliding windows, Gemma 3 local RoPE bases). */
export interface LayerAttentionSpec {
  /** Sliding window (keys p − window < j ≤ p), or null for full causal attention. */
  window: number | null;
  /** Rotary base of this layer. */
  ropeTheta: number;
  /** Rotary frequency scaling of this layer (Llama 3; Gemma 3's global layers), if any. */
  ropeScaling?: RopeScaling;
}

export interface BlockSpec {
  /** 'rms' (Gemma's (1 + w) is folded into the weight at load) or 'layer' (LayerNorm, maybe with bias). */
  norm: 'rms' | 'layer';
  /**
   * 'pre': norm → sublayer → add (Llama, GPT-2). 'sandwich': also a norm on each sublayer's output
   * before the add (Gemma 2/3). 'post': only the output norm (OLMo 2).
   */
  normPlacement: 'pre' | 'sandwich' | 'post';
  /** 'parallel': x + attn(ln1 x) + mlp(ln2 x) (GPT-NeoX use_parallel_residual). */
  residual: 'sequential' | 'parallel';
  positions: PositionSpec;
  /** RMSNorm on q and k: per head (Qwen 3, Gemma 3), over the full width (OLMo 2, OLMoE), or none. */
  qkNorm: 'none' | 'head' | 'full';
  /** FFN activation; gated FFNs compute act(w1 x) · (w3 x), plain ones act(w1 x). */
  activation: ActivationKind;
  gated: boolean;
  /** Which linear layers carry biases. */
  biases: { readonly qkv: boolean; readonly o: boolean; readonly mlp: boolean };
  /** Attention score scale; default 1/√headDim. */
  attnScale?: number;
  /** Attention logit soft-cap (Gemma 2). */
  attnSoftcap?: number;
  /** Final logit soft-cap (Gemma 2). */
  finalSoftcap?: number;
  /** Embedding multiplier (Gemma √d, Granite embedding_multiplier). */
  embedScale?: number;
  /** Multiplier of each sublayer's output before the residual add (Granite residual_multiplier). */
  residualScale?: number;
  /** Multiplier of the logits (Granite: 1 / logits_scaling). */
  logitScale?: number;
  /** One entry per layer. */
  layers: readonly LayerAttentionSpec[];
}

/**
 * A block spec with the Llama defaults (pre-RMSNorm, HF rotate_half full rotary, SwiGLU, no biases),
 * overridden by `parts`; every architecture starts from it.
 */
export function blockSpec(parts: Partial<BlockSpec> & Pick<BlockSpec, 'layers'>, headDim: number): BlockSpec {
  return {
    norm: 'rms',
    normPlacement: 'pre',
    residual: 'sequential',
    positions: { kind: 'rope', style: 'half', rotaryDim: headDim },
    qkNorm: 'none',
    activation: 'silu',
    gated: true,
    biases: { qkv: false, o: false, mlp: false },
    ...parts,
  };
}

/** The llama2.c block: the Llama defaults with Meta's interleaved rotary, full attention. */
export function llamaBlockSpec(nLayers: number, headDim: number, ropeTheta: number): BlockSpec {
  return blockSpec(
    {
      positions: { kind: 'rope', style: 'interleaved', rotaryDim: headDim },
      layers: Array.from({ length: nLayers }, () => ({ window: null, ropeTheta })),
    },
    headDim,
  );
}
