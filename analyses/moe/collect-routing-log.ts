/**
 * Record a routing log (`routing-log.ts`) by running an MoE model over labelled token streams.
 *
 * Each stream is cut into windows of the model's sequence length that start with fresh context,
 * as `collect-routing.ts` does, so every token is routed exactly once. Per layer the hooks read the
 * chosen experts (`moe.hook_selected_experts`), their gate weights (`moe.hook_gate_weights`) and
 * the router probabilities after interventions (`moe.hook_router_probs`), stored as their logarithm:
 * logits up to a per-token constant, so the softmax of the stored values is exactly what the model
 * routed with (a disabled expert's −∞ included).
 */
import type { LlamaModel } from '../../runtime/model/llama';
import { readIndices, type Hooks } from '../../runtime/hooks';
import { createYielder } from '../../runtime/scheduling';
import { inputWindows } from '../../runtime/windows';
import type { CollectRoutingOptions, DomainTokens } from './collect-routing';
import { ROUTER_PROBS_HOOK, SELECTED_EXPERTS_HOOK } from './collect-routing';
import { RoutingLogBuilder, type RoutingLog } from './routing-log';

export const GATE_WEIGHTS_HOOK = (layer: number) => `blocks.${layer}.moe.hook_gate_weights`;

/** A domain's tokens and, when known, where each document starts in them (its document token). */
export interface DocumentTokens extends DomainTokens {
  documentStarts?: readonly number[];
}

/**
 * The routing log of `model` over the streams (documents numbered across streams in order).
 *
 * @example
 * const log = await collectRoutingLog(model, [{ domain: 'code', tokens, documentStarts }]);
 * expertLoad(log, 0); // share of assignments per expert at layer 0
 * @throws Error for a dense model or a domain given twice; the signal's reason when aborted.
 */
export async function collectRoutingLog(
  model: LlamaModel,
  streams: readonly DocumentTokens[],
  options: CollectRoutingOptions = {},
): Promise<RoutingLog> {
  const { config } = model;
  if (!config.moe) {
    throw new Error(`a routing log needs a mixture-of-experts model; ${model.name} is dense (no experts)`);
  }
  const domains = streams.map((s) => s.domain);
  const twice = domains.find((d, i) => domains.indexOf(d) !== i);
  if (twice !== undefined) throw new Error(`domain "${twice}" is given twice; give each text its own domain`);
  const { nExperts: E, topK } = config.moe;
  const L = config.nLayers;
  const S = config.seqLen;
  const limit = options.maxTokensPerDomain ?? Infinity;
  const builder = new RoutingLogBuilder({ nLayers: L, nExperts: E, topK, source: model.name });
  // Routing reads no targets: input windows (runtime/windows.ts) over each stream's first tokens.
  const windows = streams.map((s) => inputWindows(s.tokens.length, S, { maxTokens: limit }));
  const total = windows.reduce((a, w) => a + w.length, 0);
  const maybeYield = createYielder();
  let done = 0;
  let documentBase = 0;
  options.onProgress?.({ done, total });

  for (const [d, stream] of streams.entries()) {
    const tokens = stream.tokens.subarray(0, Math.min(stream.tokens.length, limit));
    const starts = documentIndexer(stream.documentStarts ?? [0], tokens.length);
    for (const { index: w, start: from, length } of windows[d]!) {
      options.signal?.throwIfAborted();
      const ids = tokens.subarray(from, from + length);
      const records = Array.from(
        { length: L },
        () => ({}) as { experts?: Int32Array; gates?: Float32Array; probs?: Float32Array },
      );
      const hooks: Record<string, Hooks[string]> = {};
      for (let l = 0; l < L; l++) {
        hooks[SELECTED_EXPERTS_HOOK(l)] = readIndices(async (t) => {
          records[l]!.experts = await model.backend.read(t);
        });
        hooks[GATE_WEIGHTS_HOOK(l)] = async (t) => {
          records[l]!.gates = await model.backend.read(t);
        };
        hooks[ROUTER_PROBS_HOOK(l)] = async (t) => {
          records[l]!.probs = await model.backend.read(t);
        };
      }
      const out = await model.forward(ids, { hooks, moe: options.moe });
      model.backend.dispose(out);
      // Tokens of the window, split where a new document starts.
      for (let i = 0; i < ids.length;) {
        const { document, start, end } = starts(from + i);
        const n = Math.min(end, from + ids.length) - (from + i);
        builder.addTokens({
          document: documentBase + document,
          firstPosition: from + i - start,
          tokenIds: ids.subarray(i, i + n),
          domain: stream.domain,
        });
        i += n;
      }
      records.forEach((r, l) => {
        if (!r.experts || !r.gates || !r.probs) {
          throw new Error(`layer ${l}: the routing hooks did not all run in window ${w} of ${stream.domain}`);
        }
        builder.addLayer(l, r.experts, r.gates, r.probs.map(Math.log));
      });
      options.onProgress?.({ done: ++done, total });
      await maybeYield();
    }
    documentBase += stream.documentStarts?.length ?? 1;
  }
  return builder.build();
}

/**
 * For a token index, its document's number and [start, end) in the stream. Tokens before the first
 * start belong to document 0.
 */
function documentIndexer(starts: readonly number[], length: number) {
  const bounds = [...starts.filter((s) => s > 0 && s < length)];
  const all = [0, ...bounds, length];
  let doc = 0;
  return (t: number) => {
    while (doc > 0 && t < all[doc]!) doc--;
    while (t >= all[doc + 1]!) doc++;
    return { document: doc, start: all[doc]!, end: all[doc + 1]! };
  };
}
