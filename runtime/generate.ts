/**
 * Text generation as llama2.c run.c `generate`: encode the prompt after the document token (BOS),
 * feed it, then sample one token per step until `steps` positions are used or the model emits a
 * stop token (llama2.c: BOS, as run.c; HF: the document token or EOS). The prompt is
 * prefilled through the KV cache in one batched forward instead of run.c's token-by-token loop
 * (same numbers, fewer dispatches).
 */
import { checkCompatible } from './compatibility';
import type { Hooks } from './hooks';
import type { LlamaModel } from './model/llama';
import { XorShiftRng } from './random';
import { sampleToken } from './sampling';
import { createYielder } from './scheduling';
import type { Tokenizer } from './tokenizers/tokenizer';

export interface GenerateOptions {
  /** Text to continue; '' or undefined starts from the document token (BOS) alone. */
  prompt?: string;
  /**
   * Total positions, prompt included, as run.c's `-n`: with a 1-token prompt (BOS) that is
   * `steps` new tokens. Clamped to the model's seqLen, as run.c does.
   */
  steps: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1); default: sample from the full distribution. */
  topP?: number;
  /** Seed of run.c's xorshift generator (positive integer, default 42). */
  seed?: number;
  signal?: AbortSignal;
  /** Called for each generated token with its decoded text (multi-byte characters assembled). */
  onToken?: (token: number, text: string) => void;
  /** Hooks run in every forward pass (prompt prefill and each step), e.g. SAE steering. */
  hooks?: Hooks;
}

export interface GenerateResult {
  /** BOS, the prompt's tokens, then the generated ones. */
  tokens: Int32Array;
  /** Number of leading entries of `tokens` that came from the prompt (BOS included). */
  promptLength: number;
  /** Prompt and continuation as run.c prints them (leading dummy-prefix space removed). */
  text: string;
  /** True when generation stopped because the model produced a stop token (BOS / EOS). */
  stoppedAtBos: boolean;
}

/**
 * Generate text.
 *
 * @example
 * const { text } = await generate(model, tok, { steps: 64 }); // "Once upon a time, there was…"
 */
export async function generate(
  model: LlamaModel,
  tokenizer: Tokenizer,
  options: GenerateOptions,
): Promise<GenerateResult> {
  const { prompt = '', temperature = 0, topP, seed = 42, signal, onToken, hooks } = options;
  if (!Number.isInteger(options.steps) || options.steps < 1) {
    throw new RangeError(`steps must be a positive integer, got ${options.steps}`);
  }
  checkCompatible(model.config, tokenizer, { model: model.name, tokenizer: tokenizer.fileName });
  const steps = Math.min(options.steps, model.config.seqLen);
  const rng = new XorShiftRng(seed);
  const promptTokens = tokenizer.encode(prompt, { bos: true });
  signal?.throwIfAborted();

  // run.c forwards positions 0..steps-1 and emits the token following each; a prompt longer than
  // that is simply cut, with nothing sampled.
  if (promptTokens.length > steps) {
    const tokens = promptTokens.slice(0, steps + 1);
    return { tokens, promptLength: tokens.length, text: textOf(tokenizer, tokens), stoppedAtBos: false };
  }

  const seq = Array.from(promptTokens);
  const decoder = new TextDecoder();
  const maybeYield = createYielder();
  const cache = model.createKvCache();
  let stoppedAtBos = false;
  try {
    let logits = await lastRow(model, promptTokens, cache, hooks);
    let pos = promptTokens.length; // positions consumed so far
    for (;;) {
      const next = sampleToken(logits, { temperature, topP, rng });
      if (tokenizer.stopTokens.includes(next)) {
        stoppedAtBos = true;
        break;
      }
      const prev = seq[seq.length - 1]!;
      seq.push(next);
      const bytes = next < tokenizer.vocabSize ? tokenizer.decodeBytes(prev, next) : new Uint8Array(0);
      onToken?.(next, decoder.decode(bytes, { stream: true }));
      if (pos >= steps) break;
      await maybeYield();
      signal?.throwIfAborted();
      logits = await lastRow(model, Int32Array.of(next), cache, hooks);
      pos++;
    }
  } finally {
    cache.dispose();
  }
  const tokens = Int32Array.from(seq);
  return { tokens, promptLength: promptTokens.length, text: textOf(tokenizer, tokens), stoppedAtBos };
}

/**
 * The text of `tokens`; an embedding row past the tokenizer's vocabulary (padding, as Qwen's rows
 * up to 151,936) has no text and is left out.
 */
function textOf(tokenizer: Tokenizer, tokens: Int32Array): string {
  return tokenizer.decodeAll(tokens.filter((t) => t < tokenizer.vocabSize));
}

/** Forward `tokens` through the cache and read back the logits of the last one. */
async function lastRow(
  model: LlamaModel,
  tokens: Int32Array,
  cache: ReturnType<LlamaModel['createKvCache']>,
  hooks?: Hooks,
): Promise<Float32Array> {
  // Only the last row is sampled from: unembed just it (a hook on the logits sees them all).
  const lastLogitsOnly = !hooks || !('hook_logits' in hooks);
  const logits = await model.forward(tokens, { kvCache: cache, hooks, lastLogitsOnly });
  try {
    const all = await model.backend.read(logits);
    const v = model.config.vocabSize;
    return all.subarray(all.length - v);
  } finally {
    model.backend.dispose(logits);
  }
}
