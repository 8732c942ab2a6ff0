/**
 * Named hook points of the forward pass, spelled as in TransformerLens so users recognise them.
 * A hook reads an activation and may replace it (splice an SAE reconstruction, mask attention,
 * zero a neuron).
 *
 * Differences from TransformerLens worth knowing: tensors are 2-D [T, width] (heads flattened:
 * hook_q is [T, nHeads*headDim]), and `mlp.hook_pre` is the gate pre-activation w1·x. As in
 * TransformerLens, `attn.hook_q`/`attn.hook_k` are before rotary embedding and
 * `attn.hook_rot_q`/`attn.hook_rot_k` after it.
 */
import type { Backend } from '../kernels/backend';
import type { Tensor } from '../kernels/tensor';

/** Hook points inside block l, in execution order, without the `blocks.{l}.` prefix. */
export const BLOCK_HOOK_POINTS = [
  'hook_resid_pre', //    [T, dim]
  'attn.hook_q', //       [T, nHeads*headDim], before rope
  'attn.hook_k', //       [T, kvDim], before rope
  'attn.hook_v', //       [T, kvDim]
  'attn.hook_rot_q', //   [T, nHeads*headDim], after rope
  'attn.hook_rot_k', //   [T, kvDim], after rope, before the KV cache write
  'attn.hook_pattern', // [nHeads, T, Tk] softmax probabilities (computed only when hooked)
  'attn.hook_z', //       [T, nHeads*headDim], before wo
  'hook_attn_out', //     [T, dim]
  'hook_resid_mid', //    [T, dim]
  'mlp.hook_pre', //      [T, hiddenDim] gate pre-activation w1·x
  'mlp.hook_post', //     [T, hiddenDim] silu(w1·x) * w3·x, the input of w2
  'hook_mlp_out', //      [T, dim]
  'hook_resid_post', //   [T, dim]
] as const;

export type BlockHookPoint = (typeof BLOCK_HOOK_POINTS)[number];

/** Hook points after the last block. */
export const FINAL_HOOK_POINTS = ['ln_final.hook_normalized', 'hook_logits'] as const;

export type FinalHookPoint = (typeof FINAL_HOOK_POINTS)[number];

/** What a hook is told about where it runs. */
export interface HookContext {
  /** Full hook name, e.g. `blocks.3.attn.hook_pattern`. */
  name: string;
  /** Block index, or null for `ln_final.hook_normalized` and `hook_logits`. */
  layer: number | null;
  /** Absolute position of the first row. */
  pos0: number;
  backend: Backend;
}

/**
 * A hook. The tensor it receives belongs to the model and is only valid during the call (read
 * it, do not dispose it). Returning a tensor REPLACES the activation: it must have the same shape,
 * and the model takes ownership of it (disposes it later). Returning nothing, or the same tensor,
 * leaves the activation as is.
 */
export type Hook = (
  t: Tensor<'f32'>,
  ctx: HookContext,
) => Tensor<'f32'> | void | Promise<Tensor<'f32'> | void>;

/** Hooks by hook point name. */
export type Hooks = Readonly<Record<string, Hook>>;

/** Thrown for an unknown hook name or a replacement of the wrong shape. */
export class HookError extends Error {
  override name = 'HookError';
}

/** Every hook point of a model with `nLayers` blocks, in execution order. */
export function listHookPoints(config: { nLayers: number }): string[] {
  const names: string[] = [];
  for (let l = 0; l < config.nLayers; l++) for (const p of BLOCK_HOOK_POINTS) names.push(`blocks.${l}.${p}`);
  names.push(...FINAL_HOOK_POINTS);
  return names;
}

/** Split a hook name into layer and point, or null when it is not a hook point name. */
export function parseHookName(
  name: string,
): { layer: number; point: BlockHookPoint } | { layer: null; point: FinalHookPoint } | null {
  if ((FINAL_HOOK_POINTS as readonly string[]).includes(name))
    return { layer: null, point: name as FinalHookPoint };
  const m = /^blocks\.(0|[1-9]\d*)\.(.+)$/.exec(name);
  if (!m || !(BLOCK_HOOK_POINTS as readonly string[]).includes(m[2]!)) return null;
  return { layer: Number(m[1]), point: m[2] as BlockHookPoint };
}

/** Throw HookError unless every key of `hooks` is a hook point of this model. */
export function validateHooks(hooks: Hooks, config: { nLayers: number }): void {
  for (const name of Object.keys(hooks)) {
    const parsed = parseHookName(name);
    if (!parsed) {
      throw new HookError(
        `unknown hook point "${name}"; expected e.g. blocks.0.hook_resid_pre or hook_logits`,
      );
    }
    if (parsed.layer !== null && parsed.layer >= config.nLayers) {
      throw new HookError(
        `hook point "${name}": layer ${parsed.layer} does not exist (the model has ${config.nLayers})`,
      );
    }
    if (typeof hooks[name] !== 'function') throw new HookError(`hook "${name}" is not a function`);
  }
}

/**
 * Run the hook registered at `name` (if any) on `t`. Returns the tensor to continue with: `t`
 * itself, or the validated replacement, in which case `t` has been handed to `onReplaced`.
 */
export async function runHook(
  hooks: Hooks | undefined,
  name: string,
  t: Tensor<'f32'>,
  ctx: Omit<HookContext, 'name'>,
  onReplaced: (original: Tensor<'f32'>, replacement: Tensor<'f32'>) => void,
): Promise<Tensor<'f32'>> {
  const hook = hooks?.[name];
  if (!hook) return t;
  const r = await hook(t, { ...ctx, name });
  if (r === undefined || r === t) return t;
  const sameShape = r.shape.length === t.shape.length && r.shape.every((d, i) => d === t.shape[i]);
  if (!sameShape || r.dtype !== 'f32' || r.backend !== t.backend) {
    throw new HookError(
      `hook "${name}" returned a ${r.backend} ${r.dtype} tensor of shape [${r.shape.join(', ')}]; expected a ${t.backend} f32 tensor of shape [${t.shape.join(', ')}]`,
    );
  }
  onReplaced(t, r);
  return r;
}
