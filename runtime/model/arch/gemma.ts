/**
 * Gemma 2 and Gemma 3 (text): (1 + w) RMSNorm folded at load, sandwich norms around attention and
 * FFN, GeGLU (gelu_pytorch_tanh), √d embedding scale, query_pre_attn_scalar, soft-capping (Gemma 2),
 * alternating sliding-window layers with their own RoPE base (Gemma 3), per-head qk-norm (Gemma 3).
 */
import type { LayerAttentionSpec } from '../block-spec';
import type { LlamaConfig } from '../llama-config';
import { activationOf, coreDims, ropeScalingOf, type ArchitectureSpec } from './common';
import { blockSpec } from '../block-spec';
import type { ConfigReader } from './config-reader';
import { isRotaryBuffer } from './llama-family';
import { llamaStyleTensors } from './tensor-table';
import { bf16ToF32, f16ToF32, f32ToBf16Bits, f32ToF16Bits } from '../../formats/safetensors-dtypes';

const LAYER_TYPES = ['sliding_attention', 'full_attention'] as const;

/** Which layers slide: `layer_types`, else Gemma 3's `sliding_window_pattern`, else `fallback(l)`. */
function slidingLayers(r: ConfigReader, nLayers: number, fallback: (l: number) => boolean): boolean[] {
  if (r.has('layer_types')) {
    const t = r.raw.layer_types;
    if (!Array.isArray(t) || t.length !== nLayers || !t.every((x) => LAYER_TYPES.includes(x as never))) {
      r.fail(
        `invalid config: layer_types must list ${nLayers} entries, each ${LAYER_TYPES.map((x) => `"${x}"`).join(' or ')}`,
      );
    }
    return (t as string[]).map((x) => x === 'sliding_attention');
  }
  if (r.has('sliding_window_pattern')) {
    const p = r.int('sliding_window_pattern');
    return Array.from({ length: nLayers }, (_, l) => (l + 1) % p !== 0);
  }
  return Array.from({ length: nLayers }, (_, l) => fallback(l));
}

function gemmaConfig(r: ConfigReader, version: 2 | 3, architecture: string): LlamaConfig {
  const core = coreDims(r, { tiedDefault: true });
  const ropeTheta = r.num('rope_theta', version === 2 ? 10000 : 1e6);
  const localTheta = version === 3 ? r.num('rope_local_base_freq', 10000) : ropeTheta;
  const scaling = ropeScalingOf(r);
  const window = r.int('sliding_window', 4096);
  // Gemma 2: even layers slide (HF `not bool(layer_idx % 2)`); Gemma 3: every 6th layer is global.
  const sliding = slidingLayers(
    r,
    core.nLayers,
    version === 2 ? (l) => l % 2 === 0 : (l) => (l + 1) % 6 !== 0,
  );
  const layers: LayerAttentionSpec[] = sliding.map((s) =>
    s
      ? { window: window < core.seqLen ? window : null, ropeTheta: localTheta }
      : { window: null, ropeTheta, ...(scaling ? { ropeScaling: scaling } : {}) },
  );
  const queryScalar = r.num('query_pre_attn_scalar', core.headDim);
  const softcap = (key: string, gemma2Default: number) =>
    r.has(key) ? r.num(key) : version === 2 && !(key in r.raw) ? gemma2Default : undefined;
  const attnSoftcap = softcap('attn_logit_softcapping', 50);
  const finalSoftcap = softcap('final_logit_softcapping', 30);
  return {
    ...core,
    normEps: r.num('rms_norm_eps', 1e-6),
    ropeTheta,
    moe: null,
    architecture,
    block: blockSpec(
      {
        normPlacement: 'sandwich',
        activation: activationOf(r, ['hidden_activation', 'hidden_act'], 'gelu_pytorch_tanh'),
        qkNorm: version === 3 ? 'head' : 'none',
        biases: { qkv: r.bool('attention_bias', false), o: r.bool('attention_bias', false), mlp: false },
        attnScale: 1 / Math.sqrt(queryScalar),
        ...(attnSoftcap ? { attnSoftcap } : {}),
        ...(finalSoftcap ? { finalSoftcap } : {}),
        embedScale: embedScaleOf(r, core.dim),
        layers,
      },
      core.headDim,
    ),
  };
}

/**
 * √hidden_size as Gemma applies it: HF casts the normalizer to the model's dtype (`torch_dtype`), so
 * a BF16 checkpoint multiplies by √d rounded to bfloat16 (√72 → 8.5), as it was trained.
 */
function embedScaleOf(r: ConfigReader, dim: number): number {
  const exact = Math.sqrt(dim);
  const dtype = r.raw.torch_dtype ?? r.raw.dtype;
  if (dtype === 'bfloat16') return bf16ToF32(Uint16Array.of(f32ToBf16Bits(exact)))[0]!;
  if (dtype === 'float16') return f16ToF32(Uint16Array.of(f32ToF16Bits(exact)))[0]!;
  return Math.fround(exact);
}

function gemma(name: string, modelTypes: string[], version: 2 | 3): ArchitectureSpec {
  return {
    name,
    modelTypes,
    config: (r) => gemmaConfig(r, version, name),
    tensors: (c) =>
      llamaStyleTensors(c, {
        preAttentionNorm: 'input_layernorm',
        postAttentionNorm: 'post_attention_layernorm',
        preFfnNorm: 'pre_feedforward_layernorm',
        postFfnNorm: 'post_feedforward_layernorm',
        normPlusOne: true,
        ffn: 'mlp',
      }),
    ignorable: isRotaryBuffer,
  };
}

export const GEMMA2 = gemma('Gemma2ForCausalLM', ['gemma2'], 2);
export const GEMMA3 = gemma('Gemma3ForCausalLM', ['gemma3_text'], 3);
