/**
 * Expert pruning (METHODS.md "Expert pruning", after MC-MoE's importance scores): rank each
 * layer's experts by how often they are chosen (frequency) or by the gate weight they receive
 * (routing weight), drop the least important n per layer — the router then chooses among the
 * rest and renormalises their gates as the model does — and measure the loss for each n.
 */
import type { LlamaModel } from '../../runtime/model/llama';
import type { MoeInterventions } from '../../runtime/model/moe-interventions';
import { evaluateLoss } from '../../runtime/eval/loss';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { tokenCount, type RoutingLog } from './routing-log';

export type ExpertImportance = 'frequency' | 'weight';
export const EXPERT_IMPORTANCE: readonly ExpertImportance[] = ['frequency', 'weight'];

/**
 * Per layer, each expert's importance [E]: its share of assignments (frequency) or its share of
 * the total gate weight (weight).
 *
 * @example
 * expertImportance(log, 'frequency')[0]; // layer 0, sums to 1
 */
export function expertImportance(log: RoutingLog, by: ExpertImportance): number[][] {
  const { nExperts: E, topK: k } = log;
  const T = tokenCount(log);
  return log.layers.map(({ experts, gates }) => {
    const score = new Float64Array(E);
    for (let i = 0; i < T * k; i++) {
      const e = experts[i]!;
      if (e >= 0) score[e]! += by === 'frequency' ? 1 : Math.abs(gates[i]!);
    }
    const total = score.reduce((a, b) => a + b, 0);
    return Array.from(score, (s) => (total > 0 ? s / total : 0));
  });
}

/**
 * The n least important experts of each layer (ties to the higher index), as routing
 * interventions that disable them.
 */
export function pruneLeastImportant(importance: readonly number[][], n: number): MoeInterventions {
  const layers: Record<number, { disabledExperts: number[] }> = {};
  importance.forEach((scores, l) => {
    const order = scores.map((s, e) => ({ s, e })).sort((a, b) => a.s - b.s || b.e - a.e);
    layers[l] = {
      disabledExperts: order
        .slice(0, n)
        .map((o) => o.e)
        .sort((a, b) => a - b),
    };
  });
  return { layers };
}

export interface ExpertPruningPoint {
  /** Experts dropped per layer. */
  dropped: number;
  /** Experts left per layer. */
  kept: number;
  loss: number;
  /** The experts dropped, per layer. */
  disabled: number[][];
}

/**
 * Loss of the model with the n least important experts of every layer disabled, for each n in
 * `dropCounts` (each at most E − k, so every token still finds k experts).
 *
 * @example
 * const curve = await expertPruningSweep(model, tok, text, importance, [0, 1, 2, 4]);
 */
export async function expertPruningSweep(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  importance: readonly number[][],
  dropCounts: readonly number[],
  options: {
    signal?: AbortSignal;
    fileName?: string;
    onProgress?: (p: { done: number; total: number }) => void;
  } = {},
): Promise<ExpertPruningPoint[]> {
  const moe = model.config.moe;
  if (!moe) throw new Error(`expert pruning needs a mixture-of-experts model; ${model.name} is dense`);
  const maxDrop = moe.nExperts - moe.topK;
  for (const n of dropCounts) {
    if (!(Number.isInteger(n) && n >= 0 && n <= maxDrop)) {
      throw new RangeError(
        `experts dropped per layer must be an integer in [0, ${maxDrop}] (${moe.nExperts} experts, top-${moe.topK}), got ${n}`,
      );
    }
  }
  const out: ExpertPruningPoint[] = [];
  for (const [i, n] of dropCounts.entries()) {
    const interventions = pruneLeastImportant(importance, n);
    const r = await evaluateLoss(model, tokenizer, text, {
      moe: n > 0 ? interventions : undefined,
      signal: options.signal,
      fileName: options.fileName,
    });
    out.push({
      dropped: n,
      kept: moe.nExperts - n,
      loss: r.loss,
      disabled: importance.map((_, l) => [...(interventions.layers?.[l]?.disabledExperts ?? [])]),
    });
    options.onProgress?.({ done: i + 1, total: dropCounts.length });
  }
  return out;
}
