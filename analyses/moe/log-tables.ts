/**
 * Arrow tables of the routing-log analyses (co-activation, token→expert map, balance, chunk
 * sparsity, vocabulary, balancing steps, expert pruning), with documented column schemas as in
 * `tables.ts`. The MoE cells draw them and reports embed them.
 */
import { Field, Float32, Int32, Schema, type Table } from 'apache-arrow';
import { TABLE_KIND_KEY, tableFromRows } from '../../runtime/tables';
import type { AuxFreeResult } from './aux-free-balancing';
import type { ExpertPruningPoint } from './expert-pruning';
import type { MoeLogReport } from './log-report';
import { tokenCount, type RoutingLog } from './routing-log';

const int = (name: string) => new Field(name, new Int32(), false);
const float = (name: string) => new Field(name, new Float32(), false);
const schema = (kind: string, fields: Field[]) => new Schema(fields, new Map([[TABLE_KIND_KEY, kind]]));

/**
 * Co-activation: one row per (layer, expert, other): `share` (float32) of `expert`'s tokens that
 * also chose `other` — the data of one E × E heatmap per layer.
 */
export const MOE_COACTIVATION_SCHEMA = schema('moe-coactivation', [
  int('layer'),
  int('expert'),
  int('other'),
  float('share'),
]);

export function moeCoactivationTable(report: MoeLogReport): Table {
  const rows = report.log_layers.flatMap((l) =>
    l.coactivation.flatMap((row, expert) =>
      row.map((share, other) => ({ layer: l.layer, expert, other, share })),
    ),
  );
  return tableFromRows(MOE_COACTIVATION_SCHEMA, rows);
}

/**
 * Per layer: `top_k_mass`, `lbl_micro`, `lbl_global` (float32; −1 where the log has no router
 * logits), `tls` and the `vocabulary` specialisation score.
 */
export const MOE_BALANCE_SCHEMA = schema('moe-balance', [
  int('layer'),
  float('top_k_mass'),
  float('lbl_micro'),
  float('lbl_global'),
  float('tls'),
  float('vocabulary'),
]);

export function moeBalanceTable(report: MoeLogReport): Table {
  return tableFromRows(
    MOE_BALANCE_SCHEMA,
    report.log_layers.map((l) => ({
      layer: l.layer,
      top_k_mass: l.top_k_mass ?? -1,
      lbl_micro: l.lbl_micro ?? -1,
      lbl_global: l.lbl_global ?? -1,
      tls: l.tls,
      vocabulary: l.vocabulary.score,
    })),
  );
}

/** Chunk sparsity curve: one row per (layer, chunk length): `cls`, and the layer's `tls`. */
export const MOE_CHUNK_SCHEMA = schema('moe-chunk-sparsity', [
  int('layer'),
  int('chunk'),
  float('cls'),
  float('tls'),
]);

export function moeChunkTable(report: MoeLogReport): Table {
  return tableFromRows(
    MOE_CHUNK_SCHEMA,
    report.log_layers.flatMap((l) =>
      l.cls.map((c) => ({ layer: l.layer, chunk: c.chunk, cls: c.cls, tls: l.tls })),
    ),
  );
}

/**
 * Token → expert map: one row per (token, layer) for the first `maxTokens` tokens: `token`
 * (index in the log), `document`, `position`, `token_id`, `layer`, `expert` (first choice) and its
 * `gate` — tokens coloured by first-choice expert per layer, as in the Mixtral paper.
 */
export const MOE_TOKEN_EXPERT_SCHEMA = schema('moe-token-expert', [
  int('token'),
  int('document'),
  int('position'),
  int('token_id'),
  int('layer'),
  int('expert'),
  float('gate'),
]);

export function moeTokenExpertTable(log: RoutingLog, maxTokens = 512): Table {
  const k = log.topK;
  const rows = [];
  for (let t = 0; t < Math.min(tokenCount(log), maxTokens); t++) {
    for (const [l, layer] of log.layers.entries()) {
      rows.push({
        token: t,
        document: log.document[t]!,
        position: log.position[t]!,
        token_id: log.tokenId[t]!,
        layer: log.layerIds[l]!,
        expert: layer.experts[t * k]!,
        gate: layer.gates[t * k]!,
      });
    }
  }
  return tableFromRows(MOE_TOKEN_EXPERT_SCHEMA, rows);
}

/** Vocabulary specialisation: per (layer, expert), its top token ids by `share` of their occurrences. */
export const MOE_VOCABULARY_SCHEMA = schema('moe-vocabulary', [
  int('layer'),
  int('expert'),
  int('rank'),
  int('token_id'),
  float('share'),
  int('count'),
]);

export function moeVocabularyTable(report: MoeLogReport): Table {
  return tableFromRows(
    MOE_VOCABULARY_SCHEMA,
    report.log_layers.flatMap((l) =>
      l.vocabulary.experts.flatMap((e) =>
        e.tokens.map((t, rank) => ({
          layer: l.layer,
          expert: e.expert,
          rank,
          token_id: t.tokenId,
          share: t.share,
          count: t.count,
        })),
      ),
    ),
  );
}

/** Aux-free balancing curve: one row per (layer, step): the step's `max_over_mean` load. */
export const MOE_BALANCE_STEPS_SCHEMA = schema('moe-balance-steps', [
  int('layer'),
  int('step'),
  float('max_over_mean'),
]);

export function moeBalanceStepsTable(sim: AuxFreeResult, layerIds: readonly number[]): Table {
  return tableFromRows(
    MOE_BALANCE_STEPS_SCHEMA,
    sim.layers.flatMap((l, i) => l.steps.map((m, step) => ({ layer: layerIds[i]!, step, max_over_mean: m }))),
  );
}

/** Expert pruning curve: one row per point: experts `dropped` and `kept` per layer, and the `loss`. */
export const EXPERT_PRUNING_SCHEMA = schema('moe-expert-pruning', [
  int('dropped'),
  int('kept'),
  float('loss'),
]);

export function expertPruningTable(points: readonly ExpertPruningPoint[]): Table {
  return tableFromRows(EXPERT_PRUNING_SCHEMA, points);
}
