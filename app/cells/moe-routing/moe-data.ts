/**
 * The MoE routing cell's result decoded for display: one layer's domain × expert matrix, its
 * expert-load bars with the uniform reference, and the per-layer scalars. Pure (Node-testable);
 * the view only mounts charts.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import type { CellResult } from '../../notebook/cell-runtime';
import type { MoeRoutingSummary } from '../../../workers/runtime-types';
import { moeRoutingKind } from './moe-routing-kind';

/** What the heatmap shows: the rows of the usage table read one way or the other. */
export const MOE_VIEWS = {
  usage: {
    column: 'share_of_domain',
    label: 'Expert usage per domain',
    legend: "share of the domain's assignments",
  },
  experts: {
    column: 'share_of_expert',
    label: 'Domain mix per expert',
    legend: "share of the expert's assignments",
  },
} as const;

export type MoeView = keyof typeof MOE_VIEWS;

export interface MoeData {
  summary: MoeRoutingSummary;
  /** MOE_USAGE_COLUMNS: one row per (layer, domain, expert). */
  usage: Table;
  /** MOE_LAYER_COLUMNS: one row per layer. */
  layers: Table;
  /** MOE_LOAD_COLUMNS: one row per (layer, expert). */
  load: Table;
  domains: string[];
  nLayers: number;
  nExperts: number;
}

/** Decode a routing result; the tables' row counts must match the summary's shape. */
export function decodeMoe(result: CellResult): MoeData {
  const summary = moeRoutingKind.metaOf(result)!;
  const usage = tableFromIPC(result.tables.usage!);
  const layers = tableFromIPC(result.tables.layers!);
  const load = tableFromIPC(result.tables.load!);
  const domains = summary.domains.map((d) => d.name);
  const { nLayers, nExperts } = summary;
  const expect = (t: Table, rows: number, name: string) => {
    if (t.numRows !== rows) throw new Error(`${name} table has ${t.numRows} rows, expected ${rows}`);
  };
  expect(usage, nLayers * domains.length * nExperts, 'usage');
  expect(layers, nLayers, 'layers');
  expect(load, nLayers * nExperts, 'load');
  return { summary, usage, layers, load, domains, nLayers, nExperts };
}

/** A view param as a known view (`usage` for anything else: an old or hand-edited notebook). */
export function moeView(value: unknown): MoeView {
  return typeof value === 'string' && value in MOE_VIEWS ? (value as MoeView) : 'usage';
}

/** A layer param clamped into [0, nLayers). */
export function clampLayer(d: MoeData, layer: unknown): number {
  const l = Math.trunc(Number(layer));
  return Number.isFinite(l) ? Math.min(Math.max(l, 0), d.nLayers - 1) : 0;
}

/**
 * Row-major [domains, experts] values of one layer: each domain's share of its assignments per
 * expert (`usage`, rows sum to 1) or each expert's share coming from each domain (`experts`,
 * columns sum to 1 — the distributions the specialisation KL compares with the corpus).
 *
 * @example
 * const m = usageMatrix(d, 0, 'usage'); // Float32Array [4 × 8]
 */
export function usageMatrix(d: MoeData, layer: number, view: MoeView): Float32Array {
  const v = (MOE_VIEWS as Partial<Record<string, (typeof MOE_VIEWS)[MoeView]>>)[view];
  if (!v) throw new Error(`unknown MoE view "${view}"; known: ${Object.keys(MOE_VIEWS).join(', ')}`);
  if (!Number.isInteger(layer) || layer < 0 || layer >= d.nLayers)
    throw new RangeError(`layer must be an integer in [0, ${d.nLayers - 1}], got ${layer}`);
  const n = d.domains.length * d.nExperts;
  const col = d.usage.getChild(v.column)!.toArray() as Float32Array;
  return col.slice(layer * n, (layer + 1) * n);
}

/** Bar label of the uniform-load reference bar. */
export function uniformLabel(nExperts: number): string {
  return `uniform (1/${nExperts})`;
}

/**
 * One layer's expert load as bars `expert` ("e0", …) / `load`, followed by the uniform reference
 * 1/E as a last bar (the bar chart has no reference line; a bar reads the same way).
 */
export function loadBars(d: MoeData, layer: number): Table {
  const E = d.nExperts;
  const load = (d.load.getChild('load')!.toArray() as Float32Array).slice(layer * E, (layer + 1) * E);
  return tableFromArrays({
    expert: [...Array.from({ length: E }, (_, e) => `e${e}`), uniformLabel(E)],
    load: Float32Array.from([...load, 1 / E]),
  });
}

/** One row of the per-layer table. */
export interface LayerRow {
  layer: number;
  specialisation: number;
  routerEntropy: number;
  loadEntropy: number;
  maxLoad: number;
}

/** The per-layer scalars, in layer order (from the summary; the layers table holds the same). */
export function layerRows(s: MoeRoutingSummary): LayerRow[] {
  return s.layers.map((l) => ({
    layer: l.layer,
    specialisation: l.specialisation,
    routerEntropy: l.routerEntropy,
    loadEntropy: l.loadEntropy,
    maxLoad: Math.max(...l.load),
  }));
}

/**
 * The summary line under the charts.
 *
 * @example
 * specialisationLine(s); // 'specialisation (mean KL) per layer: L0 0.0949, L1 0.0153 nats; mean 0.0551'
 */
export function specialisationLine(s: MoeRoutingSummary, digits = 4): string {
  const per = s.layers.map((l) => `L${l.layer} ${l.specialisation.toFixed(digits)}`).join(', ');
  return `specialisation (mean KL) per layer: ${per} nats; mean ${s.specialisation.toFixed(digits)}`;
}
