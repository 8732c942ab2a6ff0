/**
 * Every routing analysis of a routing log in one JSON-serialisable report — what
 * `sparsebook moe-stats --json` prints and the MoE cells draw — whether the log was recorded
 * here or read from files written elsewhere.
 */
import { loadBalance, type MicroBatchScope } from './load-balancing';
import {
  coactivation,
  crossLayerConsistency,
  expertChunkSparsity,
  topKMass,
  vocabularySpecialisation,
  type ChunkSparsityPoint,
  type CrossLayerConsistency,
  type ExpertVocabulary,
} from './routing-analyses';
import { hasLogits, routerProbs, tokenCount, type RoutingLog } from './routing-log';
import {
  emptyRoutingCounts,
  entropy,
  summarizeRouting,
  type MoeStatsSummary,
  type RoutingCounts,
} from './routing-stats';

export interface MoeLogReportOptions {
  /** Micro-batch scope of the LBL (default: one document). */
  microBatch?: MicroBatchScope;
  /** Chunk lengths of the chunk-sparsity curve (default 1, 2, 4, …, 64). */
  chunks?: readonly number[];
  /** Token ids listed per expert in the vocabulary view (default 8). */
  topTokens?: number;
  /** Occurrences a token id needs to count for vocabulary specialisation (default 4). */
  minCount?: number;
}

export interface MoeLogLayer {
  layer: number;
  /** Share of assignments per expert [E]. */
  expert_load: number[];
  /** [E][E]: share of expert i's tokens that also chose j. */
  coactivation: number[][];
  /** Mean router probability mass of the chosen top-k; null without router logits. */
  top_k_mass: number | null;
  lbl_micro: number | null;
  lbl_global: number | null;
  /**
   * Per domain, the coefficient N_E·f_i each scope puts on expert i's router probability in that
   * domain's micro-batches (> 1: the scope pushes the expert down there); null without logits.
   */
  push: { domain: string; micro: number[]; global: number[] }[] | null;
  vocabulary: { score: number; uniform: number; experts: ExpertVocabulary[] };
  tls: number;
  cls: ChunkSparsityPoint[];
}

export interface MoeLogReport extends MoeStatsSummary {
  tokens: number;
  documents: number;
  micro_batch: string;
  /** Mean over layers (null without router logits). */
  lbl_micro: number | null;
  lbl_global: number | null;
  /** Per layer [E][E] (the same as `log_layers[l].coactivation`). */
  coactivation: number[][][];
  cross_layer: CrossLayerConsistency[];
  log_layers: MoeLogLayer[];
}

/**
 * Routing counts (for `summarizeRouting`: load, router entropy, domain specialisation) of a log.
 * Router entropy is 0 where the log has no logits.
 */
export function routingCountsFromLog(log: RoutingLog): RoutingCounts {
  const { nExperts: E, topK: k } = log;
  const counts = emptyRoutingCounts(log.domains, log.layers.length, E, k);
  const p = new Float64Array(E);
  const T = tokenCount(log);
  log.layers.forEach((layer, l) => {
    const c = counts.layers[l]!;
    for (let t = 0; t < T; t++) {
      const d = log.domain[t]!;
      c.tokens[d]! += 1;
      if (layer.logits) c.entropySum[d]! += entropy(routerProbs(log, l, t, p));
      for (let j = 0; j < k; j++) {
        const e = layer.experts[t * k + j]!;
        if (e >= 0) c.assignments[d * E + e]! += 1;
      }
    }
  });
  return counts;
}

/**
 * All analyses of a log.
 *
 * @example
 * const r = moeLogReport(log, { microBatch: { by: 'document' } });
 * r.lbl_micro; r.layers[0]!.load; r.coactivation[0]![i]![j];
 */
export function moeLogReport(log: RoutingLog, options: MoeLogReportOptions = {}): MoeLogReport {
  const E = log.nExperts;
  const scope = options.microBatch ?? { by: 'document' };
  const summary = summarizeRouting(routingCountsFromLog(log));
  const logits = hasLogits(log);
  const balance = logits ? loadBalance(log, scope) : null;
  const longest = Math.max(...documentLengths(log));
  const chunks = (options.chunks ?? [1, 2, 4, 8, 16, 32, 64]).filter((L) => L <= longest);
  const logLayers = log.layers.map((_, l): MoeLogLayer => {
    const co = coactivation(log, l);
    const cs = expertChunkSparsity(log, l, chunks);
    return {
      layer: log.layerIds[l]!,
      expert_load: summary.layers[l]!.load,
      coactivation: Array.from({ length: E }, (_, i) => Array.from(co.subarray(i * E, (i + 1) * E))),
      top_k_mass: logits ? topKMass(log, l) : null,
      lbl_micro: balance?.layers[l]!.lblMicro ?? null,
      lbl_global: balance?.layers[l]!.lblGlobal ?? null,
      push: balance?.layers[l]!.push ?? null,
      vocabulary: vocabularySpecialisation(log, l, {
        top: options.topTokens ?? 8,
        minCount: options.minCount ?? 4,
      }),
      tls: cs.tls,
      cls: cs.curve,
    };
  });
  return {
    ...summary,
    tokens: tokenCount(log),
    documents: documentLengths(log).length,
    micro_batch: scope.by === 'document' ? 'document' : `${scope.n} tokens`,
    lbl_micro: balance?.lblMicro ?? null,
    lbl_global: balance?.lblGlobal ?? null,
    coactivation: logLayers.map((l) => l.coactivation),
    cross_layer: crossLayerConsistency(log),
    log_layers: logLayers,
  };
}

function documentLengths(log: RoutingLog): number[] {
  const lengths: number[] = [];
  for (let t = 0; t < tokenCount(log); t++) {
    if (t === 0 || log.document[t] !== log.document[t - 1]) lengths.push(0);
    lengths[lengths.length - 1]! += 1;
  }
  return lengths;
}
