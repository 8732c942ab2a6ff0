/**
 * Run an MoE model over labelled token streams and count its routing decisions, read through the
 * hook points `blocks.{l}.moe.hook_router_probs` [T, E] (after any interventions) and
 * `blocks.{l}.moe.hook_selected_experts` (i32 [T, k]). Each stream is cut into windows of the model's sequence length that start with
 * fresh context, as the loss evaluation does, so every token is routed exactly once.
 */
import type { LlamaModel } from '../../runtime/model/llama';
import type { MoeInterventions } from '../../runtime/model/moe-interventions';
import { readIndices, type Hooks } from '../../runtime/hooks';
import { inputWindows } from '../../runtime/windows';
import { addRouting, emptyRoutingCounts, type RoutingCounts } from './routing-stats';

/** A token stream (e.g. `buildTokenStream(...).tokens`) and the domain label of its text. */
export interface DomainTokens {
  domain: string;
  tokens: Int32Array;
}

export interface CollectRoutingOptions {
  /** Routing interventions applied to every window (statistics of the intervened model). */
  moe?: MoeInterventions;
  /** Route at most this many tokens of each stream (its first ones); default: all. */
  maxTokensPerDomain?: number;
  signal?: AbortSignal;
  /** Called before the first window and after each one. */
  onProgress?: (p: { done: number; total: number }) => void;
}

export const ROUTER_PROBS_HOOK = (layer: number) => `blocks.${layer}.moe.hook_router_probs`;
export const SELECTED_EXPERTS_HOOK = (layer: number) => `blocks.${layer}.moe.hook_selected_experts`;

/**
 * Count each layer's token→expert assignments and router entropy per domain.
 *
 * @example
 * const counts = await collectRouting(model, [{ domain: 'code', tokens }], { maxTokensPerDomain: 4096 });
 * summarizeRouting(counts).layers[0]!.load; // share of assignments per expert
 * @throws Error for a dense model or domains given twice; the signal's reason when aborted.
 */
export async function collectRouting(
  model: LlamaModel,
  streams: readonly DomainTokens[],
  options: CollectRoutingOptions = {},
): Promise<RoutingCounts> {
  const { config } = model;
  if (!config.moe) {
    throw new Error(`MoE statistics need a mixture-of-experts model; ${model.name} is dense (no experts)`);
  }
  const domains = streams.map((s) => s.domain);
  const twice = domains.find((d, i) => domains.indexOf(d) !== i);
  if (twice !== undefined) throw new Error(`domain "${twice}" is given twice; give each text its own domain`);
  const { nExperts: E, topK } = config.moe;
  const counts = emptyRoutingCounts(domains, config.nLayers, E, topK);
  const S = config.seqLen;
  const limit = options.maxTokensPerDomain ?? Infinity;
  // Routing reads no targets: input windows (runtime/windows.ts) over each stream's first tokens.
  const windows = streams.map((s) => inputWindows(s.tokens.length, S, { maxTokens: limit }));
  const total = windows.reduce((a, w) => a + w.length, 0);
  let done = 0;
  options.onProgress?.({ done, total });

  for (let d = 0; d < streams.length; d++) {
    const { tokens } = streams[d]!;
    for (const w of windows[d]!) {
      options.signal?.throwIfAborted();
      const ids = tokens.subarray(w.start, w.start + w.length);
      const hooks: Record<string, Hooks[string]> = {};
      for (let l = 0; l < config.nLayers; l++) {
        // Count a layer once both its probabilities and its choice are read, whichever comes first.
        let probs: Float32Array | undefined;
        let selected: Int32Array | undefined;
        const count = () => {
          if (probs && selected) addRouting(counts.layers[l]!, E, d, probs, selected);
        };
        hooks[ROUTER_PROBS_HOOK(l)] = async (t) => {
          probs = await model.backend.read(t);
          count();
        };
        hooks[SELECTED_EXPERTS_HOOK(l)] = readIndices(async (t) => {
          selected = await model.backend.read(t);
          count();
        });
      }
      const before = counts.layers.map((c) => c.tokens[d]!);
      const out = await model.forward(ids, { hooks, moe: options.moe });
      model.backend.dispose(out);
      counts.layers.forEach((c, l) => {
        if (c.tokens[d]! - before[l]! !== ids.length) {
          throw new Error(
            `layer ${l}: the routing hooks saw ${c.tokens[d]! - before[l]!} of ${ids.length} tokens`,
          );
        }
      });
      options.onProgress?.({ done: ++done, total });
    }
  }
  return counts;
}
