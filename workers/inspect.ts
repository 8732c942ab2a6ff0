/**
 * "Model view" in one forward pass: per-token loss, the next-token distribution after a chosen
 * token, and one layer's attention pattern (every head), for a text truncated to the model's
 * context. Runs in the worker; returns Arrow tables.
 */
import type { Table } from 'apache-arrow';
import type { LlamaModel, Tokenizer } from '../runtime/index';
import { crossEntropyRows } from '../runtime/eval/loss';
import { nextTokenTable, tokenLossTable } from '../runtime/tables';
import { tensorTable } from '../runtime/tensor-table';
import { topKDistribution } from '../runtime/next-token';
import { tokenText } from '../runtime/tokenizers/token-text';

export interface InspectRequest {
  text: string;
  /** Layer whose attention pattern is returned. */
  layer: number;
  /** Token index (0 = BOS) whose next-token distribution is returned; −1 = the last token. */
  position: number;
  /** Rows of the next-token table. */
  topK: number;
}

export interface InspectResult {
  /** TOKEN_LOSS_SCHEMA: every token and the loss of predicting it. */
  tokens: Table;
  /** NEXT_TOKEN_SCHEMA after token `position`. */
  next: Table;
  /** Tensor table [nHeads, T, T]: attention probabilities of `layer`. */
  pattern: Table;
  /** The resolved position (−1 replaced by T − 1). */
  position: number;
  /** True when the text was cut to the model's context. */
  truncated: boolean;
  /** Tokens in the whole text (BOS included), before truncation. */
  totalTokens: number;
}

/** Run the inspection; `signal` is checked before the forward pass. */
export async function inspect(
  model: LlamaModel,
  tokenizer: Tokenizer,
  request: InspectRequest,
  signal: AbortSignal,
): Promise<InspectResult> {
  const { nLayers, seqLen, vocabSize: V } = model.config;
  const { layer, topK } = request;
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayers)
    throw new RangeError(`layer must be an integer in [0, ${nLayers - 1}], got ${layer}`);
  const all = tokenizer.encode(request.text, { bos: true, source: 'text' });
  const tokens = all.length > seqLen ? all.subarray(0, seqLen) : all;
  const T = tokens.length;
  const position = request.position === -1 ? T - 1 : request.position;
  if (!Number.isInteger(position) || position < 0 || position >= T)
    throw new RangeError(`token must be an integer in [0, ${T - 1}] (or −1 for the last), got ${position}`);
  if (!Number.isInteger(topK) || topK < 1 || topK > V)
    throw new RangeError(`topK must be an integer in [1, ${V}], got ${topK}`);

  const b = model.backend;
  const hookName = `blocks.${layer}.attn.hook_pattern`;
  let patternRead: Promise<[readonly number[], Float32Array]> | undefined;
  signal.throwIfAborted();
  const logitsTensor = await model.forward(tokens, {
    hooks: { [hookName]: (t) => void (patternRead = b.read(t).then((d) => [t.shape, d])) },
  });
  let logits: Float32Array;
  try {
    logits = await b.read(logitsTensor);
  } finally {
    b.dispose(logitsTensor);
  }
  const [shape, pattern] = await patternRead!;

  const losses = Float32Array.from(crossEntropyRows(logits.subarray(0, (T - 1) * V), V, tokens.subarray(1)));
  const texts = Array.from(tokens, (t, i) =>
    tokenText(tokenizer, i > 0 ? tokens[i - 1]! : tokenizer.documentToken, t),
  );
  const top = topKDistribution(logits.subarray(position * V, (position + 1) * V), topK);
  const prev = tokens[position]!;
  return {
    tokens: tokenLossTable({ tokenIds: tokens, tokens: texts, losses }),
    next: nextTokenTable({
      ...top,
      tokens: Array.from(top.tokenIds, (id) => tokenText(tokenizer, prev, id)),
    }),
    pattern: tensorTable(hookName, shape, pattern),
    position,
    truncated: all.length > seqLen,
    totalTokens: all.length,
  };
}
