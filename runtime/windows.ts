/**
 * The windows of ARCHITECTURE.md "Loss over a text", in one place, and the one loop that walks them.
 *
 * A text becomes one token stream (runtime/text.ts: each document after its document token). With
 * S the window size (the model's max sequence length, or a smaller analysis window), window k has
 * inputs stream[kS, kS + S) and targets stream[kS + 1, kS + S + 1): every token after the first is
 * predicted exactly once, each window starts from fresh context, and the last window may be
 * shorter. The stream's last token is a target only, never an input.
 *
 * Passes that only read activations (pruning calibration, channel ranking, routing counts) have no
 * targets, so their windows (`inputWindows`) take every token of the stream as an input.
 */
import { createYielder } from './scheduling';

/** Where a window sits in the stream. */
export interface Window {
  /** Window number in the stream (0 = the stream's first window, whatever `first` skipped). */
  index: number;
  /** Stream index of its first input token. */
  start: number;
  /** Its number of input tokens (T); its targets are the T tokens after each input. */
  length: number;
}

/** Which windows of a stream to run. */
export interface WindowLimits {
  /** Skip this many windows first (default 0), e.g. to hold out the start of a text. */
  first?: number;
  /** Run at most this many windows (after `first`); default all. */
  maxWindows?: number;
  /** Run at most this many input tokens from the stream's start (the last window cut short); default all. */
  maxTokens?: number;
}

/**
 * The loss windows of a stream of `n` tokens for window size `S`, limited by `limits`.
 *
 * @example
 * lossWindows(1025, 512); // [{ index: 0, start: 0, length: 512 }, { index: 1, start: 512, length: 512 }]
 * lossWindows(1026, 512).at(-1); // { index: 2, start: 1024, length: 1 }: one input, one target
 * @throws RangeError for a window size or limit that is not a positive integer (`first`: ≥ 0).
 */
export function lossWindows(n: number, S: number, limits: WindowLimits = {}): Window[] {
  return windowsOver(Math.max(0, n - 1), S, limits);
}

/**
 * Windows whose inputs cover all `n` tokens of a stream (passes without targets): the loss
 * windows of a stream one token longer.
 *
 * @example
 * inputWindows(1024, 512).map((w) => w.length); // [512, 512]
 */
export function inputWindows(n: number, S: number, limits: WindowLimits = {}): Window[] {
  return windowsOver(Math.max(0, n), S, limits);
}

/** Tokens a stream may have for its loss to take at most `maxWindows` windows of size S. */
export function streamTokensFor(maxWindows: number, S: number): number {
  return maxWindows * S + 1;
}

function windowsOver(inputs: number, S: number, limits: WindowLimits): Window[] {
  const { first = 0, maxWindows = Infinity, maxTokens = Infinity } = limits;
  if (!(Number.isInteger(S) && S >= 1))
    throw new RangeError(`window size must be a positive integer, got ${S}`);
  if (!(Number.isInteger(first) && first >= 0))
    throw new RangeError(`the first window must be an integer ≥ 0, got ${first}`);
  if (!(maxWindows >= 1)) throw new RangeError(`maxWindows must be at least 1, got ${maxWindows}`);
  if (!(maxTokens >= 1)) throw new RangeError(`maxTokens must be at least 1, got ${maxTokens}`);
  const end = Math.min(inputs, maxTokens);
  const out: Window[] = [];
  for (let index = first, start = first * S; start < end && out.length < maxWindows; index++, start += S) {
    out.push({ index, start, length: Math.min(S, end - start) });
  }
  return out;
}

/** A window with its tokens (views into the stream). */
export interface WindowTokens extends Window {
  inputs: Int32Array;
  /** The next token after each input (the last may be missing for an input window at the stream's end). */
  targets: Int32Array;
}

/** Cancellation and progress of a walk over windows. */
export interface WindowLoopOptions {
  signal?: AbortSignal;
  /** Called before the first window (done 0) and after each one. */
  onProgress?: (p: { done: number; total: number }) => void;
}

/**
 * Walk `windows` of `tokens`, one at a time: progress before the first and after each window,
 * a yield to the event loop now and then (the CPU backend never yields by itself), and the
 * abort check between windows. The caller runs each window's forward pass in the loop body.
 *
 * @example
 * for await (const w of eachWindow(stream.tokens, lossWindows(stream.tokens.length, S), { signal })) {
 *   const logits = await model.forward(w.inputs);
 * }
 * @throws the signal's reason when it is aborted (checked before the first window and after each).
 */
export async function* eachWindow(
  tokens: Int32Array,
  windows: readonly Window[],
  options: WindowLoopOptions = {},
): AsyncGenerator<WindowTokens> {
  const { signal, onProgress } = options;
  const maybeYield = createYielder();
  signal?.throwIfAborted();
  onProgress?.({ done: 0, total: windows.length });
  for (const [i, w] of windows.entries()) {
    yield {
      ...w,
      inputs: tokens.subarray(w.start, w.start + w.length),
      targets: tokens.subarray(w.start + 1, w.start + w.length + 1),
    };
    onProgress?.({ done: i + 1, total: windows.length });
    await maybeYield();
    signal?.throwIfAborted();
  }
}
