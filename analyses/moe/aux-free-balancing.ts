/**
 * Auxiliary-loss-free balancing (DeepSeek; METHODS.md), simulated on recorded router
 * probabilities: a per-expert bias b is added to the scores only for choosing the top-k, and after
 * each step of B tokens b_i ← b_i + u·sign(mean load − load_i). The model is not trained; the bias
 * found is what the update converges to on this token stream, and `LlamaModel.forward`'s
 * `moe.expertBias` applies it in a real forward pass (the loss change is measured there).
 */
import { hasLogits, routerProbs, tokenCount, RoutingLogError, type RoutingLog } from './routing-log';

export interface AuxFreeOptions {
  /** Update rate u (default 0.001, DeepSeek-V3's). */
  rate?: number;
  /** Tokens per update step B (default 64). */
  stepTokens?: number;
  /** Passes over the token stream (default 1). */
  epochs?: number;
}

export interface AuxFreeLayer {
  layer: number;
  /** The final bias [E]. */
  bias: number[];
  /** max/mean expert load over the whole stream with no bias, and with the final bias. */
  maxOverMeanBefore: number;
  maxOverMeanAfter: number;
  /** Share of token→expert assignments that the final bias changes. */
  moved: number;
  /** max/mean load of each step's tokens, chosen with the bias of that step (the curve). */
  steps: number[];
}

export interface AuxFreeResult {
  rate: number;
  stepTokens: number;
  epochs: number;
  layers: AuxFreeLayer[];
  /** Means over layers. */
  maxOverMeanBefore: number;
  maxOverMeanAfter: number;
  moved: number;
}

/**
 * Simulate the bias update per layer over the log's tokens.
 *
 * @example
 * const r = simulateAuxFree(log, { rate: 0.002 });
 * r.maxOverMeanAfter < r.maxOverMeanBefore; // the bias evens the load
 * @throws RoutingLogError for a log without router logits; RangeError for bad options.
 */
export function simulateAuxFree(log: RoutingLog, options: AuxFreeOptions = {}): AuxFreeResult {
  const rate = options.rate ?? 0.001;
  const stepTokens = options.stepTokens ?? 64;
  const epochs = options.epochs ?? 1;
  if (!(rate > 0 && Number.isFinite(rate)))
    throw new RangeError(`the update rate must be positive, got ${rate}`);
  if (!(Number.isInteger(stepTokens) && stepTokens >= 1)) {
    throw new RangeError(`tokens per step must be a positive integer, got ${stepTokens}`);
  }
  if (!(Number.isInteger(epochs) && epochs >= 1))
    throw new RangeError(`epochs must be a positive integer, got ${epochs}`);
  if (!hasLogits(log)) {
    throw new RoutingLogError(
      `routing log ${log.source}: auxiliary-loss-free balancing simulates on router scores, and this log has no router logits`,
    );
  }
  const { nExperts: E, topK: k } = log;
  const T = tokenCount(log);
  const layers = log.layers.map((_, layer): AuxFreeLayer => {
    const probs = new Float64Array(T * E);
    const row = new Float64Array(E);
    for (let t = 0; t < T; t++) probs.set(routerProbs(log, layer, t, row), t * E);
    const bias = new Float64Array(E);
    const steps: number[] = [];
    const load = new Float64Array(E);
    const chosen = new Int32Array(k);
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let from = 0; from < T; from += stepTokens) {
        const to = Math.min(T, from + stepTokens);
        load.fill(0);
        for (let t = from; t < to; t++) {
          topK(probs, t * E, E, bias, chosen);
          for (const e of chosen) load[e]! += 1;
        }
        steps.push(maxOverMean(load));
        const mean = ((to - from) * k) / E;
        for (let e = 0; e < E; e++) bias[e]! += rate * Math.sign(mean - load[e]!);
      }
    }
    const before = new Float64Array(E);
    const after = new Float64Array(E);
    const zero = new Float64Array(E);
    const a = new Int32Array(k);
    const b = new Int32Array(k);
    let moved = 0;
    for (let t = 0; t < T; t++) {
      topK(probs, t * E, E, zero, a);
      topK(probs, t * E, E, bias, b);
      for (let i = 0; i < k; i++) {
        before[a[i]!]! += 1;
        after[b[i]!]! += 1;
        if (!a.includes(b[i]!)) moved++;
      }
    }
    return {
      layer,
      bias: Array.from(bias),
      maxOverMeanBefore: maxOverMean(before),
      maxOverMeanAfter: maxOverMean(after),
      moved: moved / (T * k),
      steps,
    };
  });
  const mean = (f: (l: AuxFreeLayer) => number) => layers.reduce((s, l) => s + f(l), 0) / layers.length;
  return {
    rate,
    stepTokens,
    epochs,
    layers,
    maxOverMeanBefore: mean((l) => l.maxOverMeanBefore),
    maxOverMeanAfter: mean((l) => l.maxOverMeanAfter),
    moved: mean((l) => l.moved),
  };
}

/** max/mean of a load vector (1 = perfectly even). */
export function maxOverMean(load: ArrayLike<number>): number {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < load.length; i++) {
    max = Math.max(max, load[i]!);
    sum += load[i]!;
  }
  return sum > 0 ? (max * load.length) / sum : 1;
}

/**
 * The k experts with the largest p + b, best first, ties to the lower index (as the moeRoute
 * kernel breaks them). Experts with probability 0 (disabled) are never chosen over live ones.
 */
function topK(p: Float64Array, at: number, E: number, bias: Float64Array, out: Int32Array): void {
  const k = out.length;
  for (let i = 0; i < k; i++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let e = 0; e < E; e++) {
      if (out.subarray(0, i).includes(e)) continue;
      const score = p[at + e]! > 0 ? p[at + e]! + bias[e]! : -Infinity;
      if (best < 0 || score > bestScore) {
        best = e;
        bestScore = score;
      }
    }
    out[i] = best;
  }
}
