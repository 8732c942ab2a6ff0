/**
 * Language-model loss over a text, per ARCHITECTURE.md "Loss over a text" (llama2.c's way):
 * documents → one token stream, each document after its document token (BOS) → windows of
 * S = seqLen predictions, each starting from fresh context. Cross-entropy is computed in float64 on the host from the logits.
 */
import { checkCompatible } from '../compatibility';
import { formatCount, NonFiniteError } from '../errors';
import type { Hooks } from '../hooks';
import type { LayerWeightOverrides, LlamaModel } from '../model/llama';
import type { MoeInterventions } from '../model/moe-interventions';
import { createYielder } from '../scheduling';
import { buildTokenStream, decodeUtf8Strict } from '../text';
import type { Tokenizer } from '../tokenizers/tokenizer';

export interface LossOptions {
  signal?: AbortSignal;
  /** Called before the first window and after each one. */
  onProgress?: (p: { done: number; total: number }) => void;
  /** Name of the text's source for error messages (default "text"). */
  fileName?: string;
  /** Hooks run in every window's forward pass (e.g. a sparse-attention mask on hook_pattern). */
  hooks?: Hooks;
  /** Replacement weights used in every window (see `ForwardOptions.weights`), e.g. a pruned model. */
  weights?: LayerWeightOverrides;
  /** Routing interventions of an MoE model in every window (disabled experts, forced top-k, …). */
  moe?: MoeInterventions;
}

export interface LossResult {
  /** Mean cross-entropy (nats) over all predicted tokens. */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Number of predicted targets (stream length − 1). */
  tokens: number;
  windows: number;
  documents: number;
  /** Things a UI should show next to the number (e.g. "no <|endoftext|> separator: …"). */
  notes: string[];
}

/**
 * Mean loss and perplexity of `model` on `text` (a string, or a file's bytes, decoded strictly).
 * @throws TextError for empty or non-UTF-8 text, CompatibilityError for a mismatched tokenizer,
 *   the signal's reason (AbortError) when aborted between windows.
 *
 * @example
 * const r = await evaluateLoss(model, tok, text, { fileName: 'valid.txt' }); // r.loss ≈ 1.3
 */
export async function evaluateLoss(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string | Uint8Array,
  options: LossOptions = {},
): Promise<LossResult> {
  const fileName = options.fileName ?? 'text';
  checkCompatible(model.config, tokenizer, { model: model.name, tokenizer: tokenizer.fileName });
  const str = typeof text === 'string' ? text : decodeUtf8Strict(text, fileName);
  const stream = buildTokenStream(tokenizer, str, fileName);
  let sum = 0;
  let count = 0;
  const windows = await forEachWindow(model, stream.tokens, options, (_, losses) => {
    for (const l of losses) sum += l;
    count += losses.length;
  });
  const loss = sum / count;
  return {
    loss,
    perplexity: Math.exp(loss),
    tokens: count,
    windows,
    documents: stream.documentStarts.length,
    notes: stream.notes,
  };
}

/**
 * Loss of every target of a token stream: entry i is −log p(tokens[i+1] | window context), with the
 * same windows as `evaluateLoss`. Length tokens.length − 1.
 */
export async function perTokenLoss(
  model: LlamaModel,
  tokens: Int32Array,
  options: Omit<LossOptions, 'fileName'> = {},
): Promise<Float32Array> {
  const out = new Float32Array(Math.max(0, tokens.length - 1));
  await forEachWindow(model, tokens, options, (start, losses) => out.set(losses, start));
  return out;
}

/**
 * Run every window k = stream[kS .. kS+S] (inputs all but the last token, targets all but the
 * first) and hand its per-target losses to `consume` with the index of its first target − 1.
 * Returns the number of windows. A trailing window with fewer than 2 tokens has no target.
 */
async function forEachWindow(
  model: LlamaModel,
  tokens: Int32Array,
  options: Omit<LossOptions, 'fileName'>,
  consume: (start: number, losses: Float64Array) => void,
): Promise<number> {
  const { signal, onProgress, hooks, weights, moe } = options;
  const S = model.config.seqLen;
  const total = Math.max(0, Math.ceil((tokens.length - 1) / S));
  const maybeYield = createYielder();
  signal?.throwIfAborted();
  onProgress?.({ done: 0, total });
  for (let k = 0; k < total; k++) {
    const start = k * S;
    const window = tokens.subarray(start, Math.min(start + S + 1, tokens.length));
    const inputs = window.subarray(0, window.length - 1);
    const logits = await model.forward(inputs, { hooks, weights, moe });
    let data: Float32Array;
    try {
      data = await model.backend.read(logits);
    } finally {
      model.backend.dispose(logits);
    }
    const losses = crossEntropyRows(data, model.config.vocabSize, window.subarray(1));
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) {
      throw new NonFiniteError(
        `${model.name}: the loss at token ${formatCount(start + bad + 1)} (window ${formatCount(start / S)}) is ${losses[bad]}: the model produced non-finite logits`,
      );
    }
    consume(start, losses);
    onProgress?.({ done: k + 1, total });
    await maybeYield();
    signal?.throwIfAborted();
  }
  return total;
}

/** Per-row −log softmax(logits)[target], in float64 with the max subtracted (log-sum-exp). */
export function crossEntropyRows(logits: Float32Array, vocabSize: number, targets: Int32Array): Float64Array {
  const out = new Float64Array(targets.length);
  for (let r = 0; r < targets.length; r++) {
    const o = r * vocabSize;
    let max = -Infinity;
    for (let j = 0; j < vocabSize; j++) max = Math.max(max, logits[o + j]!);
    let sum = 0;
    for (let j = 0; j < vocabSize; j++) sum += Math.exp(logits[o + j]! - max);
    out[r] = max + Math.log(sum) - logits[o + targets[r]!]!;
  }
  return out;
}
