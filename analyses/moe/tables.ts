/**
 * Arrow tables of the MoE routing statistics, with documented column schemas (as
 * runtime/tables.ts). Column names are snake_case; each schema names its kind under the
 * `sparsebook.table` metadata key.
 */
import { Field, Float32, Int32, makeVector, Schema, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { TABLE_KIND_KEY, tableOf } from '../../runtime/tables';
import type { MoeStatsSummary, RoutingCounts } from './routing-stats';

/**
 * Domain × expert usage: one row per (layer, domain, expert), layers then domains (input order)
 * then experts ascending — the data of a domain × expert heatmap.
 *
 * - `layer` (int32): MoE block index.
 * - `domain` (utf8): the domain label of the text the tokens came from.
 * - `expert` (int32): expert index in [0, E).
 * - `share_of_domain` (float32): share of this domain's token→expert assignments that went to
 *   this expert; sums to 1 over the experts of a (layer, domain).
 * - `share_of_expert` (float32): share of this expert's assignments that came from this domain;
 *   sums to 1 over the domains of a (layer, expert) the expert was used in (0 when unused).
 */
export const MOE_USAGE_COLUMNS = {
  layer: 'layer',
  domain: 'domain',
  expert: 'expert',
  shareOfDomain: 'share_of_domain',
  shareOfExpert: 'share_of_expert',
} as const;

export const MOE_USAGE_SCHEMA = new Schema(
  [
    new Field(MOE_USAGE_COLUMNS.layer, new Int32(), false),
    new Field(MOE_USAGE_COLUMNS.domain, new Utf8(), false),
    new Field(MOE_USAGE_COLUMNS.expert, new Int32(), false),
    new Field(MOE_USAGE_COLUMNS.shareOfDomain, new Float32(), false),
    new Field(MOE_USAGE_COLUMNS.shareOfExpert, new Float32(), false),
  ],
  new Map([[TABLE_KIND_KEY, 'moe-usage']]),
);

/**
 * Per-layer summary: one row per MoE block, in order.
 *
 * - `layer` (int32).
 * - `router_entropy` (float32): mean per-token entropy of the router softmax, nats (max log E).
 * - `load_entropy` (float32): entropy of the expert load distribution, nats (log E = balanced).
 * - `specialisation` (float32): mean over used experts of KL(expert's domains ‖ corpus's), nats.
 * - `max_load` (float32): the largest expert's share of assignments (1/E = balanced).
 */
export const MOE_LAYER_COLUMNS = {
  layer: 'layer',
  routerEntropy: 'router_entropy',
  loadEntropy: 'load_entropy',
  specialisation: 'specialisation',
  maxLoad: 'max_load',
} as const;

export const MOE_LAYER_SCHEMA = new Schema(
  [
    new Field(MOE_LAYER_COLUMNS.layer, new Int32(), false),
    new Field(MOE_LAYER_COLUMNS.routerEntropy, new Float32(), false),
    new Field(MOE_LAYER_COLUMNS.loadEntropy, new Float32(), false),
    new Field(MOE_LAYER_COLUMNS.specialisation, new Float32(), false),
    new Field(MOE_LAYER_COLUMNS.maxLoad, new Float32(), false),
  ],
  new Map([[TABLE_KIND_KEY, 'moe-layer']]),
);

/**
 * The domain × expert usage table of routing counts (see `MOE_USAGE_COLUMNS`).
 *
 * @example
 * const t = moeUsageTable(counts);
 * t.numRows; // nLayers × domains × nExperts
 */
export function moeUsageTable(counts: RoutingCounts): Table {
  const { domains, nExperts: E } = counts;
  const layer: number[] = [];
  const domain: string[] = [];
  const expert: number[] = [];
  const ofDomain: number[] = [];
  const ofExpert: number[] = [];
  counts.layers.forEach((c, l) => {
    const A = c.assignments;
    const domainTotal = domains.map((_, d) => A.subarray(d * E, (d + 1) * E).reduce((x, y) => x + y, 0));
    const expertTotal = Array.from({ length: E }, (_, e) =>
      domains.reduce((x, _d, d) => x + A[d * E + e]!, 0),
    );
    domains.forEach((name, d) => {
      for (let e = 0; e < E; e++) {
        const n = A[d * E + e]!;
        layer.push(l);
        domain.push(name);
        expert.push(e);
        ofDomain.push(domainTotal[d]! > 0 ? n / domainTotal[d]! : 0);
        ofExpert.push(expertTotal[e]! > 0 ? n / expertTotal[e]! : 0);
      }
    });
  });
  return tableOf(MOE_USAGE_SCHEMA, layer.length, [
    makeVector(Int32Array.from(layer)),
    vectorFromArray(domain, new Utf8()),
    makeVector(Int32Array.from(expert)),
    makeVector(Float32Array.from(ofDomain)),
    makeVector(Float32Array.from(ofExpert)),
  ]);
}

/**
 * The per-layer table of a summary (see `MOE_LAYER_COLUMNS`).
 *
 * @example
 * moeLayerTable(summary).getChild('specialisation')?.toArray(); // Float32Array [nLayers]
 */
export function moeLayerTable(s: MoeStatsSummary): Table {
  const f = (g: (l: MoeStatsSummary['layers'][number]) => number) =>
    makeVector(Float32Array.from(s.layers, g));
  return tableOf(MOE_LAYER_SCHEMA, s.layers.length, [
    makeVector(Int32Array.from(s.layers, (l) => l.layer)),
    f((l) => l.routerEntropy),
    f((l) => l.loadEntropy),
    f((l) => l.specialisation),
    f((l) => Math.max(...l.load)),
  ]);
}
