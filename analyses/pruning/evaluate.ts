/**
 * Quality of a (pruned) model on held-out tokens: the loss evaluation's mean cross-entropy and
 * perplexity, plus next-token agreement with a reference — the share of positions where the
 * argmax prediction equals the dense model's (1 for the dense model itself).
 */
import type { Hooks } from '../../runtime/hooks';
import type { LayerWeightOverrides, LlamaModel } from '../../runtime/model/llama';
import { perTokenLoss } from '../../runtime/eval/loss';

export interface PrunedEvaluation {
  loss: number;
  perplexity: number;
  /** Targets scored. */
  tokens: number;
  /** Argmax next-token prediction at every scored position. */
  argmax: Int32Array;
  /** Share of positions whose argmax equals `reference`'s (1 without a reference). */
  agreement: number;
}

/**
 * @example
 * const dense = await evaluateTokens(model, tokens);
 * const pruned = await evaluateTokens(model, tokens, { weights: upload.overrides, reference: dense.argmax });
 */
export async function evaluateTokens(
  model: LlamaModel,
  tokens: Int32Array,
  options: {
    weights?: LayerWeightOverrides;
    reference?: Int32Array;
    signal?: AbortSignal;
    onProgress?: (p: { done: number; total: number }) => void;
  } = {},
): Promise<PrunedEvaluation> {
  const { backend } = model;
  const argmax = new Int32Array(Math.max(0, tokens.length - 1));
  let filled = 0;
  const hooks: Hooks = {
    hook_logits: async (t) => {
      const { values, indices } = backend.topk(t, 1);
      const ids = await backend.read(indices);
      backend.dispose(values, indices);
      argmax.set(ids, filled);
      filled += ids.length;
    },
  };
  const losses = await perTokenLoss(model, tokens, {
    hooks,
    ...(options.weights ? { weights: options.weights } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  let sum = 0;
  for (const l of losses) sum += l;
  const loss = sum / losses.length;
  let agree = losses.length;
  if (options.reference) {
    agree = 0;
    for (let i = 0; i < argmax.length; i++) if (argmax[i] === options.reference[i]) agree++;
  }
  return {
    loss,
    perplexity: Math.exp(loss),
    tokens: losses.length,
    argmax,
    agreement: agree / losses.length,
  };
}
