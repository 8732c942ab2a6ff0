/**
 * Run a model over the windows of a token stream and hand each layer's attention pattern (read
 * at `blocks.{l}.attn.hook_pattern`) to a callback. The windows are those of the loss evaluation
 * (ARCHITECTURE.md "Loss over a text"): window k's inputs are stream[kS, kS + S) — each starts
 * from fresh context, and the stream's last token (a target only) is never an input.
 */
import type { ForwardOptions, LlamaModel } from '../../runtime/model/llama';
import { createYielder } from '../../runtime/scheduling';
import type { Hooks } from '../../runtime/hooks';
import type { PatternProbeOptions, PatternProbeResult } from '../../kernels/backend';
import type { Tensor } from '../../kernels/tensor';
import type { LayerProbe } from './probe-accumulator';
import type { LayerPattern } from './types';

export const PATTERN_HOOK = (layer: number) => `blocks.${layer}.attn.hook_pattern`;

export interface CollectPatternsOptions {
  /** Run at most this many windows (the first ones); default all. */
  maxWindows?: number;
  /** Run at most this many input tokens (the first ones; the last window is cut short); default all. */
  maxTokens?: number;
  signal?: AbortSignal;
  /** Called before the first window and after each one. */
  onProgress?: (p: { done: number; total: number }) => void;
}

/** Where a window sits in the stream. */
export interface WindowInfo {
  /** 0-based window number. */
  index: number;
  /** Stream index of its first input token. */
  start: number;
  /** Its number of input tokens (T). */
  length: number;
}

/**
 * Input windows of a stream of `n` tokens for sequence length S, as the loss evaluation cuts them,
 * limited by `maxWindows` / `maxTokens`.
 *
 * @example
 * patternWindows(1025, 512); // [{index 0, start 0, length 512}, {index 1, start 512, length 512}]
 */
export function patternWindows(
  n: number,
  S: number,
  options: Pick<CollectPatternsOptions, 'maxWindows' | 'maxTokens'> = {},
): WindowInfo[] {
  const { maxWindows = Infinity, maxTokens = Infinity } = options;
  if (!(maxWindows >= 1)) throw new Error(`maxWindows must be at least 1, got ${maxWindows}`);
  if (!(maxTokens >= 1)) throw new Error(`maxTokens must be at least 1, got ${maxTokens}`);
  const inputs = Math.min(Math.max(0, n - 1), maxTokens);
  const out: WindowInfo[] = [];
  for (let start = 0; start < inputs && out.length < maxWindows; start += S) {
    out.push({ index: out.length, start, length: Math.min(S, inputs - start) });
  }
  return out;
}

/**
 * Call `consume(pattern, window)` for every layer of every window, layers in order. The pattern's
 * `probs` are [nHeads, T, T] and valid only during the call's synchronous part (copy to keep).
 * Returns the windows run.
 *
 * @example
 * await forEachPattern(model, stream.tokens, { maxWindows: 2 }, (p) => console.log(p.layer, p.T));
 * @throws the signal's reason when aborted (checked between windows).
 */
export async function forEachPattern(
  model: LlamaModel,
  tokens: Int32Array,
  options: CollectPatternsOptions,
  consume: (pattern: LayerPattern, window: WindowInfo) => void,
): Promise<WindowInfo[]> {
  const { config, backend } = model;
  return forEachPatternTensor(model, tokens, options, async (l, t, w) => {
    const T = w.length;
    const probs = await backend.read(t);
    if (probs.length !== config.nHeads * T * T) {
      throw new Error(
        `layer ${l}: attention pattern has ${probs.length} values, expected ${config.nHeads}×${T}×${T}`,
      );
    }
    consume({ layer: l, T, nHeads: config.nHeads, probs }, w);
  });
}

/**
 * Call `consume(layerProbe, window)` for every layer of every window, layers in order, with the
 * probes `backend.patternProbe(pattern, spec)` computes on the model's backend, fused with the
 * attention pass (`ForwardOptions.attentionProbe`: the CPU probes each row while it is in cache and
 * stores no pattern): only the per-row metrics and the line sums are read back, after each
 * window's forward pass (so `consume` runs once the window's forward pass is done).
 *
 * @example
 * await forEachProbe(model, tokens, {}, { ks: [1, 8], nSink: 1, nBuckets: 10 }, (p) => acc.addProbe(p));
 */
export async function forEachProbe(
  model: LlamaModel,
  tokens: Int32Array,
  options: CollectPatternsOptions,
  spec: PatternProbeOptions,
  consume: (probe: LayerProbe, window: WindowInfo) => void,
): Promise<WindowInfo[]> {
  const { config, backend } = model;
  // The probes are read back only after the window's forward pass: awaiting each layer's read
  // inside the pass would stall it once per layer. What is held meanwhile is one
  // [nHeads, T, F] + [nHeads, 2, T] pair per layer.
  let pending: { layer: number; res: PatternProbeResult }[] = [];
  const release = () => {
    for (const { res } of pending) backend.dispose(res.rows, res.lines);
    pending = [];
  };
  const attentionProbe = {
    spec,
    consume: (layer: number, res: PatternProbeResult) => pending.push({ layer, res }),
  };
  try {
    return await forEachWindow(
      model,
      tokens,
      options,
      () => ({ attentionProbe }),
      async (w) => {
        if (pending.length !== config.nLayers) {
          throw new Error(
            `window ${w.index}: probed ${pending.length} of ${config.nLayers} attention layers`,
          );
        }
        const reads = pending.map(({ res }) =>
          Promise.all([backend.read(res.rows), backend.read(res.lines)]),
        );
        const done = await Promise.all(reads);
        const layers = pending.map((p) => p.layer);
        release();
        done.forEach(([rows, lines], i) =>
          consume({ layer: layers[i]!, T: w.length, nHeads: config.nHeads, rows, lines }, w),
        );
      },
    );
  } finally {
    release();
  }
}

/** Run the windows with a hook on every layer's pattern tensor (read-only: the pattern is kept). */
async function forEachPatternTensor(
  model: LlamaModel,
  tokens: Int32Array,
  options: CollectPatternsOptions,
  onPattern: (layer: number, t: Tensor<'f32'>, window: WindowInfo) => void | Promise<void>,
): Promise<WindowInfo[]> {
  const { config } = model;
  let seen = 0;
  return forEachWindow(
    model,
    tokens,
    options,
    (w) => {
      seen = 0;
      const hooks: Record<string, Hooks[string]> = {};
      for (let l = 0; l < config.nLayers; l++) {
        hooks[PATTERN_HOOK(l)] = async (t) => {
          await onPattern(l, t, w);
          seen++;
        };
      }
      return { hooks };
    },
    async (w) => {
      if (seen !== config.nLayers) {
        throw new Error(`window ${w.index}: saw ${seen} of ${config.nLayers} attention patterns`);
      }
    },
  );
}

/**
 * Run the forward pass over each window with the options `forwardOptions(window)` gives, then
 * `afterWindow(window)`; progress, yielding and the abort check between windows.
 */
async function forEachWindow(
  model: LlamaModel,
  tokens: Int32Array,
  options: CollectPatternsOptions,
  forwardOptions: (window: WindowInfo) => ForwardOptions,
  afterWindow: (window: WindowInfo) => Promise<void>,
): Promise<WindowInfo[]> {
  const { config, backend } = model;
  const windows = patternWindows(tokens.length, config.seqLen, options);
  const maybeYield = createYielder();
  options.signal?.throwIfAborted();
  options.onProgress?.({ done: 0, total: windows.length });
  for (const w of windows) {
    const out = await model.forward(tokens.subarray(w.start, w.start + w.length), forwardOptions(w));
    backend.dispose(out);
    await afterWindow(w);
    options.onProgress?.({ done: w.index + 1, total: windows.length });
    await maybeYield();
    options.signal?.throwIfAborted();
  }
  return windows;
}
