/**
 * MoE routing statistics of a model over texts from several domains: expert load, router entropy,
 * and how specialised experts are to domains (METHODS.md, "Specialisation").
 */
import type { Table } from 'apache-arrow';
import type { LlamaModel } from '../../runtime/model/llama';
import { collectRouting, type CollectRoutingOptions, type DomainTokens } from './collect-routing';
import { summarizeRouting, type MoeStatsSummary, type RoutingCounts } from './routing-stats';
import { moeLayerTable, moeUsageTable } from './tables';

export interface MoeStatsResult {
  summary: MoeStatsSummary;
  counts: RoutingCounts;
  /** Domain × expert usage per layer (`MOE_USAGE_COLUMNS`). */
  usage: Table;
  /** One row per layer (`MOE_LAYER_COLUMNS`). */
  layers: Table;
}

/**
 * Route every token of each domain's stream through `model` and summarise.
 *
 * @example
 * const streams = [{ domain: 'code', tokens: buildTokenStream(tok, codeText).tokens }, …];
 * const { summary, usage } = await moeStats(model, streams);
 * summary.layers[0]!.specialisation; // mean KL(expert ‖ corpus) in nats
 */
export async function moeStats(
  model: LlamaModel,
  streams: readonly DomainTokens[],
  options: CollectRoutingOptions = {},
): Promise<MoeStatsResult> {
  const counts = await collectRouting(model, streams, options);
  const summary = summarizeRouting(counts);
  return { summary, counts, usage: moeUsageTable(counts), layers: moeLayerTable(summary) };
}

export * from './routing-stats';
export * from './tables';
export * from './collect-routing';
export * from './routing-log';
export * from './routing-analyses';
export * from './load-balancing';
export * from './aux-free-balancing';
export * from './expert-pruning';
export * from './collect-routing-log';
export * from './routing-log-parquet';
export * from './log-report';
export * from './neuron-chunk-sparsity';
export * from './log-tables';
