/**
 * Run a model over the windows of a token stream and hand each layer's attention pattern (read
 * at `blocks.{l}.attn.hook_pattern`) to a callback. The windows are the loss evaluation's
 * (runtime/windows.ts): window k's inputs are stream[kS, kS + S) — each starts from fresh
 * context, and the stream's last token (a target only) is never an input.
 */
import type { ForwardOptions, LlamaModel } from '../../runtime/model/llama';
import { eachWindow, lossWindows, type Window } from '../../runtime/windows';
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
  consume: (pattern: LayerPattern, window: Window) => void,
): Promise<Window[]> {
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
  consume: (probe: LayerProbe, window: Window) => void,
): Promise<Window[]> {
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
  onPattern: (layer: number, t: Tensor<'f32'>, window: Window) => void | Promise<void>,
): Promise<Window[]> {
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
 * Run the forward pass over each loss window (runtime/windows.ts, limited by `maxWindows` /
 * `maxTokens`) with the options `forwardOptions(window)` gives, then `afterWindow(window)`.
 */
async function forEachWindow(
  model: LlamaModel,
  tokens: Int32Array,
  options: CollectPatternsOptions,
  forwardOptions: (window: Window) => ForwardOptions,
  afterWindow: (window: Window) => Promise<void>,
): Promise<Window[]> {
  const { maxWindows, maxTokens } = options;
  const windows = lossWindows(tokens.length, model.config.seqLen, { maxWindows, maxTokens });
  for await (const w of eachWindow(tokens, windows, options)) {
    const { index, start, length } = w;
    const window = { index, start, length };
    model.backend.dispose(await model.forward(w.inputs, forwardOptions(window)));
    await afterWindow(window);
  }
  return windows;
}
