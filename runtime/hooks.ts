/**
 * Named hook points of the forward pass, spelled as in TransformerLens so users recognise them.
 * A hook reads an activation and may replace it (splice an SAE reconstruction, mask attention,
 * zero a neuron).
 *
 * Differences from TransformerLens worth knowing: tensors are 2-D [T, width] (heads flattened:
 * hook_q is [T, nHeads*headDim]), and `mlp.hook_pre` is the gate pre-activation w1·x. As in
 * TransformerLens, `attn.hook_q`/`attn.hook_k` are before rotary embedding and
 * `attn.hook_rot_q`/`attn.hook_rot_k` after it. `attn.hook_attn_scores` holds, as in TransformerLens,
 * the scores the softmax consumes ([nHeads, T, Tk], after the score scale and any soft-cap, −∞ at
 * masked keys); replacing them replaces the pattern with their softmax.
 *
 * MoE models (config.moe set) have no `mlp.hook_pre`/`mlp.hook_post` (each expert sees a different
 * subset of rows); their FFN hooks are the router's, `moe.hook_*`. `moe.hook_selected_experts`
 * carries i32 expert ids: register it with `readIndices(fn)`, not a plain function.
 */
import type { Backend } from '../kernels/backend';
import type { BlockSpec } from './model/block-spec';
import type { Tensor } from '../kernels/tensor';

/** Hook points inside block l, in execution order, without the `blocks.{l}.` prefix. */
export const BLOCK_HOOK_POINTS = [
  'hook_resid_pre', //    [T, dim]
  'ln1.hook_normalized', // [T, dim] rmsnorm(resid_pre)·w: the input of wq, wk, wv
  'attn.hook_q', //       [T, nHeads*headDim], before rope
  'attn.hook_k', //       [T, kvDim], before rope
  'attn.hook_v', //       [T, kvDim]
  'attn.hook_rot_q', //   [T, nHeads*headDim], after rope
  'attn.hook_rot_k', //   [T, kvDim], after rope, before the KV cache write
  'attn.hook_attn_scores', // [nHeads, T, Tk] scores before the softmax: scaled, soft-capped where
  //                          the architecture caps, −∞ where masked (computed only when hooked); a
  //                          replacement's row-wise softmax becomes the pattern
  'attn.hook_pattern', // [nHeads, T, Tk] softmax probabilities (computed only when hooked)
  'attn.hook_row_stats', // [nHeads, T, 3] entropy, sink mass, mean distance per row, computed
  //                         inside the attention kernel only when hooked; read-only
  'attn.hook_z', //       [T, nHeads*headDim], before wo
  'hook_attn_out', //     [T, dim]
  'hook_resid_mid', //    [T, dim]
  'ln2.hook_normalized', // [T, dim] rmsnorm(resid_mid)·w: the input of w1, w3 (or the router)
  'mlp.hook_pre', //      [T, hiddenDim] gate pre-activation w1·x
  'mlp.hook_post', //     [T, hiddenDim] silu(w1·x) * w3·x, the input of w2
  'hook_mlp_out', //      [T, dim]
  'hook_resid_post', //   [T, dim]
] as const;

/** Hook points of a sparse MoE FFN, in execution order (they replace the dense FFN's two). */
export const MOE_HOOK_POINTS = [
  'moe.hook_router_logits', //    [T, nExperts] router logits; a replacement is what gets routed
  'moe.hook_router_probs', //     [T, nExperts] softmax probabilities (after interventions), read-only
  'moe.hook_selected_experts', // i32 [T, k] chosen experts, best first, read-only (readIndices)
  'moe.hook_gate_weights', //     [T, k] weight of each chosen expert in the mix, replaceable
  'moe.hook_shared_expert_out', // [T, dim] the shared expert's output before its sigmoid gate
  //                                (Qwen2-MoE only)
] as const;

/** Hook points inside an MoE block, in execution order, without the `blocks.{l}.` prefix. */
export const MOE_BLOCK_HOOK_POINTS = BLOCK_HOOK_POINTS.flatMap((p) =>
  p === 'mlp.hook_pre' ? [...MOE_HOOK_POINTS] : p === 'mlp.hook_post' ? [] : [p],
) as readonly BlockHookPoint[];

/** Points whose hook may read but not replace the activation. */
const READ_ONLY_HOOK_POINTS: ReadonlySet<string> = new Set([
  'attn.hook_row_stats',
  'moe.hook_router_probs',
  'moe.hook_selected_experts',
]);

/** Points that carry i32 tensors (hooked with `readIndices`). */
const INDEX_HOOK_POINTS: ReadonlySet<string> = new Set(['moe.hook_selected_experts']);

export type BlockHookPoint = (typeof BLOCK_HOOK_POINTS)[number] | (typeof MOE_HOOK_POINTS)[number];

/** Hook points before the first block: token embeddings, and learned positions where a model has them. */
export const EMBED_HOOK_POINTS = ['hook_embed', 'hook_pos_embed'] as const;

/** Hook points after the last block. */
export const FINAL_HOOK_POINTS = ['ln_final.hook_normalized', 'hook_logits'] as const;

export type FinalHookPoint = (typeof FINAL_HOOK_POINTS)[number] | (typeof EMBED_HOOK_POINTS)[number];

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

/**
 * A read-only hook on an i32 activation (`moe.hook_selected_experts`). It is an object rather than
 * a function so that plain arrow functions in a `Hooks` literal keep the f32 `Hook` signature.
 * Make one with `readIndices`.
 */
export interface IndexHook {
  readonly kind: 'indices';
  readonly read: (t: Tensor<'i32'>, ctx: HookContext) => void | Promise<void>;
}

/**
 * Wrap a function as the hook of an i32 hook point.
 *
 * @example
 * const hooks = {
 *   'blocks.0.moe.hook_selected_experts': readIndices(async (t, ctx) => (ids = await ctx.backend.read(t))),
 * };
 */
export function readIndices(read: IndexHook['read']): IndexHook {
  return { kind: 'indices', read };
}

/** Hooks by hook point name. */
export type Hooks = Readonly<Record<string, Hook | IndexHook>>;

/** What the hook functions need to know about a model. */
export interface HookModelShape {
  nLayers: number;
  /** Set for a sparse MoE model. */
  moe?: { readonly sharedExpert?: object } | null;
  /** The architecture's block declaration (llama2.c's when absent). */
  block?: Pick<BlockSpec, 'positions' | 'residual' | 'normPlacement'>;
}

/** Thrown for an unknown hook name or a replacement of the wrong shape. */
export class HookError extends Error {
  override name = 'HookError';
}

/** The points inside each block of this model, in execution order (they follow its architecture). */
export function blockHookPoints(config: HookModelShape): readonly BlockHookPoint[] {
  const all: readonly BlockHookPoint[] = config.moe ? MOE_BLOCK_HOOK_POINTS : BLOCK_HOOK_POINTS;
  const b = config.block;
  const absent = new Set<string>();
  if (config.moe && !config.moe.sharedExpert) absent.add('moe.hook_shared_expert_out');
  if (b?.positions.kind === 'learned') absent.add('attn.hook_rot_q').add('attn.hook_rot_k');
  if (b?.residual === 'parallel') absent.add('hook_resid_mid');
  if (b?.normPlacement === 'post') absent.add('ln1.hook_normalized').add('ln2.hook_normalized');
  return absent.size === 0 ? all : all.filter((p) => !absent.has(p));
}

/** The model-level points before the blocks (hook_pos_embed only with learned positions). */
function embedHookPoints(config: HookModelShape): readonly FinalHookPoint[] {
  return config.block?.positions.kind === 'learned' ? EMBED_HOOK_POINTS : ['hook_embed'];
}

/** Every hook point of a model with `nLayers` blocks (MoE or dense), in execution order. */
export function listHookPoints(config: HookModelShape): string[] {
  const names: string[] = [...embedHookPoints(config)];
  const points = blockHookPoints(config);
  for (let l = 0; l < config.nLayers; l++) for (const p of points) names.push(`blocks.${l}.${p}`);
  names.push(...FINAL_HOOK_POINTS);
  return names;
}

/** Split a hook name into layer and point, or null when it is not a hook point name. */
export function parseHookName(
  name: string,
): { layer: number; point: BlockHookPoint } | { layer: null; point: FinalHookPoint } | null {
  if (
    (FINAL_HOOK_POINTS as readonly string[]).includes(name) ||
    (EMBED_HOOK_POINTS as readonly string[]).includes(name)
  )
    return { layer: null, point: name as FinalHookPoint };
  const m = /^blocks\.(0|[1-9]\d*)\.(.+)$/.exec(name);
  const known = (p: string) =>
    (BLOCK_HOOK_POINTS as readonly string[]).includes(p) ||
    (MOE_HOOK_POINTS as readonly string[]).includes(p);
  if (!m || !known(m[2]!)) return null;
  return { layer: Number(m[1]), point: m[2] as BlockHookPoint };
}

/**
 * Throw HookError unless every key of `hooks` is a hook point of this model, hooked with the right
 * kind of hook (a function, or `readIndices(fn)` at an i32 point).
 */
export function validateHooks(hooks: Hooks, config: HookModelShape): void {
  const points = blockHookPoints(config) as readonly string[];
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
    if (parsed.layer === null && name === 'hook_pos_embed' && !embedHookPoints(config).includes(name)) {
      throw new HookError(`hook point "${name}" exists only in models with learned positions (GPT-2)`);
    }
    if (parsed.layer !== null && !points.includes(parsed.point)) {
      if ((config.moe ? MOE_BLOCK_HOOK_POINTS : BLOCK_HOOK_POINTS).includes(parsed.point)) {
        throw new HookError(`hook point "${name}" does not exist in this architecture's blocks`);
      }
      throw new HookError(
        config.moe
          ? `hook point "${name}" exists only in dense models; this MoE model's FFN hook points are ${MOE_HOOK_POINTS.join(', ')}`
          : `hook point "${name}" exists only in MoE models; this model's blocks have a dense FFN (mlp.hook_pre, mlp.hook_post)`,
      );
    }
    const hook = hooks[name];
    if (INDEX_HOOK_POINTS.has(parsed.point)) {
      if (!isIndexHook(hook)) {
        throw new HookError(
          `hook "${name}" receives i32 expert ids and is read-only: register it as readIndices((ids, ctx) => …)`,
        );
      }
    } else if (typeof hook !== 'function') {
      throw new HookError(
        isIndexHook(hook)
          ? `hook "${name}" is a readIndices hook, but this point carries f32 activations: pass a plain function`
          : `hook "${name}" is not a function`,
      );
    }
  }
}

function isIndexHook(h: unknown): h is IndexHook {
  return typeof h === 'object' && h !== null && (h as IndexHook).kind === 'indices';
}

/** Run the `readIndices` hook registered at `name` (if any) on the i32 tensor `t`. */
export async function runIndexHook(
  hooks: Hooks | undefined,
  name: string,
  t: Tensor<'i32'>,
  ctx: Omit<HookContext, 'name'>,
): Promise<void> {
  const hook = hooks?.[name];
  if (isIndexHook(hook)) await hook.read(t, { ...ctx, name });
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
  if (typeof hook !== 'function') return t;
  const r = await hook(t, { ...ctx, name });
  if (r === undefined || r === t) return t;
  const point = parseHookName(name)?.point;
  if (point && READ_ONLY_HOOK_POINTS.has(point)) {
    ctx.backend.dispose(r);
    throw new HookError(
      `hook "${name}" returned a tensor, but ${point} is read-only${point.startsWith('moe.') ? '; replace moe.hook_router_logits or moe.hook_gate_weights instead' : ''}`,
    );
  }
  const sameShape = r.shape.length === t.shape.length && r.shape.every((d, i) => d === t.shape[i]);
  if (!sameShape || r.dtype !== 'f32' || r.backend !== t.backend) {
    throw new HookError(
      `hook "${name}" returned a ${r.backend} ${r.dtype} tensor of shape [${r.shape.join(', ')}]; expected a ${t.backend} f32 tensor of shape [${t.shape.join(', ')}]`,
    );
  }
  onReplaced(t, r);
  return r;
}

/**
 * The attention pattern of replaced scores [nHeads, T, Tk] (`attn.hook_attn_scores`): softmax over
 * each row, −∞ entries getting probability 0. The scores are read back first so that a row whose
 * softmax is undefined fails with a HookError naming the hook `name`: a row of all −∞ (no key
 * left to attend to), or a NaN or +∞ score.
 *
 * @example
 * const pattern = await patternOfScores(b, replacedScores, 'blocks.0.attn.hook_attn_scores');
 */
export async function patternOfScores(
  b: Backend,
  scores: Tensor<'f32'>,
  name: string,
): Promise<Tensor<'f32'>> {
  const [nHeads, t, tk] = scores.shape as [number, number, number];
  const data = await b.read(scores);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < t; i++) {
      const o = (h * t + i) * tk;
      let visible = false;
      for (let j = 0; j < tk; j++) {
        const s = data[o + j]!;
        if (Number.isNaN(s) || s === Infinity) {
          throw new HookError(
            `hook "${name}" returned a score of ${s} (head ${h}, query row ${i}, key ${j}); scores must be finite, or −Infinity to mask a key`,
          );
        }
        if (s !== -Infinity) visible = true;
      }
      if (!visible) {
        throw new HookError(
          `hook "${name}" masked every key of head ${h}, query row ${i} (all scores −Infinity): the softmax of that row is undefined`,
        );
      }
    }
  }
  return b.softmax(scores);
}
