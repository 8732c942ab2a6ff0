/**
 * Logit lens (nostalgebraist; METHODS.md): read the residual stream after each layer through the
 * model's final norm and unembedding, and see where the prediction forms. Per layer boundary i
 * (0 = embeddings, L = final, which is the model's output): the KL divergence from the final
 * distribution, agreement of the top-1 token with the final top-1, and the next token's loss,
 * probability and rank; per position, the top tokens.
 */
import type { LlamaModel } from '../../runtime/model/llama';
import { createYielder } from '../../runtime/scheduling';
import { argmax, forwardWithResiduals, logSoftmaxRow, lossWindows, readoutHost } from './residual-reads';

export interface LogitLensLayer {
  /** Residual boundary: 0 = after the embeddings, L = after the last block (the model's output). */
  layer: number;
  /** Mean over positions of KL(final ‖ this layer's distribution), nats. */
  kl_to_final: number;
  /** Share of positions whose top-1 token equals the final top-1. */
  top1_agreement: number;
  /** Mean −log p(next token). */
  next_token_loss: number;
  /** Mean probability of the next token. */
  next_token_prob: number;
  /** Mean rank of the next token (0 = top-1). */
  next_token_rank: number;
}

/** One position's view at one layer (kept for the first `maxPositions` positions). */
export interface LogitLensCell {
  position: number;
  layer: number;
  target: number;
  targetRank: number;
  targetProb: number;
  kl: number;
  /** Top tokens, best first. */
  top: { tokenId: number; prob: number }[];
}

export interface LogitLensResult {
  layers: LogitLensLayer[];
  positions: number;
  windows: number;
  cells: LogitLensCell[];
}

/**
 * The logit lens over a token stream (loss windows of the model's sequence length).
 *
 * @example
 * const r = await logitLens(model, tokens, { maxWindows: 2 });
 * r.layers.at(-1)!.kl_to_final; // 0: the last boundary is the model's output
 */
export async function logitLens(
  model: LlamaModel,
  tokens: Int32Array,
  options: {
    maxWindows?: number;
    /** Positions (from the stream's start) whose per-layer top tokens are kept (default 64). */
    maxPositions?: number;
    topK?: number;
    signal?: AbortSignal;
    onProgress?: (p: { done: number; total: number }) => void;
  } = {},
): Promise<LogitLensResult> {
  const { nLayers: L, vocabSize: V, seqLen: S } = model.config;
  const maxPositions = options.maxPositions ?? 64;
  const topK = options.topK ?? 5;
  const windows = [...lossWindows(tokens, S)].slice(0, options.maxWindows ?? Infinity);
  if (windows.length === 0) throw new RangeError('the logit lens needs at least two tokens');
  const sums = Array.from({ length: L + 1 }, () => ({ kl: 0, agree: 0, loss: 0, prob: 0, rank: 0 }));
  const cells: LogitLensCell[] = [];
  let positions = 0;
  const finalLp = new Float64Array(V);
  const lp = new Float64Array(V);
  const maybeYield = createYielder();
  options.onProgress?.({ done: 0, total: windows.length });
  for (const w of windows) {
    options.signal?.throwIfAborted();
    const T = w.inputs.length;
    const { logits: finalLogits, residuals } = await forwardWithResiduals(model, w.inputs);
    for (let i = 0; i <= L; i++) {
      // The last boundary is read through the head too: that it reproduces the output is the check.
      const logits = await readoutHost(model, residuals[i]!, T);
      const s = sums[i]!;
      for (let t = 0; t < T; t++) {
        logSoftmaxRow(finalLogits, V, t, finalLp);
        logSoftmaxRow(logits, V, t, lp);
        let kl = 0;
        for (let v = 0; v < V; v++) {
          const p = Math.exp(finalLp[v]!);
          if (p > 0) kl += p * (finalLp[v]! - lp[v]!);
        }
        kl = Math.max(0, kl);
        const target = w.targets[t]!;
        let rank = 0;
        for (let v = 0; v < V; v++) if (lp[v]! > lp[target]!) rank++;
        if (!Number.isFinite(kl) || !Number.isFinite(lp[target]!)) {
          throw new Error(
            `${model.name}: the logit lens at layer ${i}, position ${w.start + t} is not finite`,
          );
        }
        s.kl += kl;
        s.agree += argmax(lp) === argmax(finalLp) ? 1 : 0;
        s.loss -= lp[target]!;
        s.prob += Math.exp(lp[target]!);
        s.rank += rank;
        if (w.start + t < maxPositions) {
          cells.push({
            position: w.start + t,
            layer: i,
            target,
            targetRank: rank,
            targetProb: Math.exp(lp[target]!),
            kl,
            top: topTokens(lp, topK),
          });
        }
      }
      residuals[i] = new Float32Array(0);
      await maybeYield();
    }
    positions += T;
    options.onProgress?.({ done: w.index + 1, total: windows.length });
  }
  return {
    layers: sums.map((s, layer) => ({
      layer,
      kl_to_final: s.kl / positions,
      top1_agreement: s.agree / positions,
      next_token_loss: s.loss / positions,
      next_token_prob: s.prob / positions,
      next_token_rank: s.rank / positions,
    })),
    positions,
    windows: windows.length,
    cells,
  };
}

function topTokens(lp: Float64Array, k: number): { tokenId: number; prob: number }[] {
  const top: { tokenId: number; prob: number }[] = [];
  for (let v = 0; v < lp.length; v++) {
    if (top.length < k || lp[v]! > Math.log(top[top.length - 1]!.prob)) {
      top.push({ tokenId: v, prob: Math.exp(lp[v]!) });
      top.sort((a, b) => b.prob - a.prob || a.tokenId - b.tokenId);
      if (top.length > k) top.pop();
    }
  }
  return top;
}
