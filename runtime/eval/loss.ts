/**
 * Language-model loss over a text, per ARCHITECTURE.md "Loss over a text" (llama2.c's way):
 * documents → one token stream, each document after its document token (BOS) → windows of
 * S = seqLen predictions, each starting from fresh context. Cross-entropy is computed in float64 on the host from the logits.
 */
import { checkCompatible } from '../compatibility';
import { formatCount, NonFiniteError } from '../errors';
import type { Hooks } from '../hooks';
import type { ForwardOptions, LayerWeightOverrides, LlamaModel } from '../model/llama';
import type { MoeInterventions } from '../model/moe-interventions';
import { buildTokenStream, decodeUtf8Strict } from '../text';
import { eachWindow, lossWindows } from '../windows';
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
  /** Also return every target's loss (`LossResult.perToken`), e.g. to answer about one token. */
  perToken?: boolean;
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
  /**
   * With `perToken`: entry i is the loss of the token stream's token i + 1 (the stream of
   * `buildTokenStream`, each document after its document token); length `tokens`.
   */
  perToken?: Float32Array;
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
  const perToken = options.perToken ? new Float32Array(Math.max(0, stream.tokens.length - 1)) : undefined;
  const windows = await forEachWindow(model, stream.tokens, options, (start, losses) => {
    for (const l of losses) sum += l;
    count += losses.length;
    perToken?.set(losses, start);
  });
  const loss = sum / count;
  return {
    loss,
    perplexity: Math.exp(loss),
    tokens: count,
    windows,
    documents: stream.documentStarts.length,
    notes: stream.notes,
    ...(perToken ? { perToken } : {}),
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
 * Run every loss window (runtime/windows.ts) and hand its per-target losses to `consume` with the
 * stream index of its first input. Returns the number of windows.
 */
async function forEachWindow(
  model: LlamaModel,
  tokens: Int32Array,
  options: Omit<LossOptions, 'fileName'>,
  consume: (start: number, losses: Float64Array) => void,
): Promise<number> {
  const { hooks, weights, moe } = options;
  const windows = lossWindows(tokens.length, model.config.seqLen);
  for await (const w of eachWindow(tokens, windows, options)) {
    const losses = await windowLosses(model, w, { hooks, weights, moe });
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) {
      throw new NonFiniteError(
        `${model.name}: the loss at token ${formatCount(w.start + bad + 1)} (window ${formatCount(w.index)}) is ${losses[bad]}: the model produced non-finite logits`,
      );
    }
    consume(w.start, losses);
  }
  return windows.length;
}

/**
 * The per-target losses of one window: its forward pass (with `options`' hooks, weights, routing)
 * and the cross-entropy of each target.
 *
 * @example
 * for await (const w of eachWindow(tokens, lossWindows(tokens.length, S))) sum += (await windowLosses(model, w)).reduce((a, b) => a + b, 0);
 */
export async function windowLosses(
  model: LlamaModel,
  window: { inputs: Int32Array; targets: Int32Array },
  options: ForwardOptions = {},
): Promise<Float64Array> {
  const logits = await model.forward(window.inputs, options);
  try {
    return crossEntropyRows(await model.backend.read(logits), model.config.vocabSize, window.targets);
  } finally {
    model.backend.dispose(logits);
  }
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
