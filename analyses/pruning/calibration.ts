/**
 * Calibration inputs of a block's linear layers: run the model over calibration windows and
 * accumulate, for every distinct input of block l's linears, the Wanda column norms and the
 * SparseGPT Hessian (`InputStats`). Inputs are read at the hook points that feed each matrix:
 *
 * - wq, wk, wv ← `ln1.hook_normalized`; wo ← `attn.hook_z`;
 * - w1, w3 ← `ln2.hook_normalized`; w2 ← `mlp.hook_post`.
 *
 * A post-norm block (OLMo 2) feeds its sublayers the stream itself: wq/wk/wv read
 * `hook_resid_pre`, w1/w3 `hook_resid_mid` (`linearInputHooks`).
 *
 * Pruning is sequential, as in the SparseGPT and Wanda reference code: block l is calibrated on
 * what the already-pruned blocks 0..l−1 produce (`overrides`), so each block corrects for the
 * error its predecessors introduced. Within a block all linears see the block's dense inputs.
 */
import type { Hooks } from '../../runtime/hooks';
import type { LayerWeightOverrides, LinearWeightName, LlamaModel } from '../../runtime/model/llama';
import { blockOf, type LlamaConfig } from '../../runtime/model/llama-config';
import { createYielder } from '../../runtime/scheduling';
import { inputWindows } from '../../runtime/windows';
import { InputStats } from './scores';

/** The hook point (inside `blocks.{l}.`) whose activation is each linear weight's input. */
export const LINEAR_INPUT_HOOK = {
  wq: 'ln1.hook_normalized',
  wk: 'ln1.hook_normalized',
  wv: 'ln1.hook_normalized',
  wo: 'attn.hook_z',
  w1: 'ln2.hook_normalized',
  w3: 'ln2.hook_normalized',
  w2: 'mlp.hook_post',
} as const satisfies Record<LinearWeightName, string>;

/** The post-norm block's inputs (OLMo 2: no norm before the sublayers). */
const POST_NORM_INPUT_HOOK = {
  ...LINEAR_INPUT_HOOK,
  wq: 'hook_resid_pre',
  wk: 'hook_resid_pre',
  wv: 'hook_resid_pre',
  w1: 'hook_resid_mid',
  w3: 'hook_resid_mid',
} as const satisfies Record<LinearWeightName, string>;

export type LinearInputHook =
  (typeof LINEAR_INPUT_HOOK)[LinearWeightName] | (typeof POST_NORM_INPUT_HOOK)[LinearWeightName];

/**
 * The hook point feeding each linear in this architecture's blocks.
 *
 * @example
 * linearInputHooks(model.config).wq; // 'ln1.hook_normalized' ('hook_resid_pre' for OLMo 2)
 */
export function linearInputHooks(config: LlamaConfig): Readonly<Record<LinearWeightName, LinearInputHook>> {
  return blockOf(config).normPlacement === 'post' ? POST_NORM_INPUT_HOOK : LINEAR_INPUT_HOOK;
}

/** Inputs read before a block's `hook_attn_out`. */
const ATTENTION_INPUTS: ReadonlySet<string> = new Set([
  'ln1.hook_normalized',
  'hook_resid_pre',
  'attn.hook_z',
]);

/** Thrown by a hook to end a calibration pass early (the forward pass frees its tensors). */
const STOP = Symbol('stop calibration pass');

/** Input statistics of one block, by input hook point. */
export type BlockInputStats = ReadonlyMap<LinearInputHook, InputStats>;

/**
 * Token windows for calibration: `count` consecutive windows of up to seqLen tokens from the start
 * of a token stream (the paper's "128 random 2048-token segments", cut deterministically here).
 */
export function calibrationWindows(tokens: Int32Array, seqLen: number, count: number): Int32Array[] {
  // Input windows (runtime/windows.ts): calibration reads activations only, so every token is an
  // input; a last window of one token adds nothing worth a forward pass.
  const out = inputWindows(tokens.length, seqLen, { maxWindows: count })
    .filter((w) => w.length >= 2)
    .map((w) => tokens.subarray(w.start, w.start + w.length));
  if (out.length === 0) throw new Error('calibration text has fewer than 2 tokens');
  return out;
}

/**
 * Accumulate block `layer`'s input statistics over `windows`, with `overrides` (the pruned blocks
 * before it) in place. Only the hooks in `wanted` are read (default: the inputs of every linear
 * the model has, `linearInputHooks` of `model.linearWeights`).
 *
 * @example
 * const stats = await collectBlockStats(model, windows, 2, prunedSoFar);
 * stats.get('mlp.hook_post')!.columnNorms(); // Wanda's ‖X_j‖ for w2
 */
export async function collectBlockStats(
  model: LlamaModel,
  windows: readonly Int32Array[],
  layer: number,
  overrides: LayerWeightOverrides | undefined,
  options: { signal?: AbortSignal; wanted?: readonly LinearInputHook[] } = {},
): Promise<BlockInputStats> {
  const inputs = linearInputHooks(model.config);
  const points = [...new Set(options.wanted ?? model.linearWeights.map((n) => inputs[n]))];
  const stats = new Map<LinearInputHook, InputStats>();
  const { backend } = model;
  const maybeYield = createYielder();
  for (const w of windows) {
    options.signal?.throwIfAborted();
    const reads: Promise<void>[] = [];
    const hooks: Hooks = Object.fromEntries(
      points.map((p) => [
        `blocks.${layer}.${p}`,
        (t: Parameters<typeof backend.read>[0]) => {
          const cols = t.shape[1]!;
          let s = stats.get(p);
          if (!s) stats.set(p, (s = new InputStats(cols)));
          const acc = s;
          reads.push(backend.read(t).then((x) => acc.add(x, x.length / cols)));
        },
      ]),
    );
    // Blocks after `layer` do not matter: stop the pass once the block's last input is read
    // (after the attention when only attention inputs are wanted, e.g. an MoE block's).
    const attentionOnly = points.every((p) => ATTENTION_INPUTS.has(p));
    const stopAt = `blocks.${layer}.${attentionOnly ? 'hook_attn_out' : 'hook_mlp_out'}`;
    const stopping: Hooks = {
      ...hooks,
      [stopAt]: () => {
        throw STOP;
      },
    };
    try {
      backend.dispose(await model.forward(w, { hooks: stopping, weights: overrides }));
    } catch (e) {
      if (e !== STOP) throw e;
    }
    await Promise.all(reads);
    await maybeYield();
  }
  return stats;
}
