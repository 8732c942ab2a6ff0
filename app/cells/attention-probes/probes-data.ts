/**
 * The probes cell's tables decoded for display: the head grid of one metric, one head's locality
 * profile and its per-position curves. Pure (Node-testable); the view only mounts charts.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import type { CellResult } from '../../notebook/cell-runtime';

/** Heads-table columns that are not metrics. */
const NOT_METRICS = new Set(['layer', 'head', 'rows']);

export interface ProbesData {
  /** HEAD_PROBE_COLUMNS: one row per (layer, head). */
  heads: Table;
  /** POSITION_PROBE_COLUMNS: one row per (layer, head, position). */
  positions: Table;
  /** Every metric column of the heads table, in table order (entropy, sink_mass, …, locality_*). */
  metrics: string[];
  nLayers: number;
  nHeads: number;
}

/** Decode a probes result; `nLayers × nHeads` must match the heads table. */
export function decodeProbes(result: CellResult, nLayers: number, nHeads: number): ProbesData {
  const heads = tableFromIPC(result.tables.heads!);
  const positions = tableFromIPC(result.tables.positions!);
  if (heads.numRows !== nLayers * nHeads)
    throw new Error(`probe table has ${heads.numRows} heads, expected ${nLayers}×${nHeads}`);
  const metrics = heads.schema.fields.map((f) => f.name).filter((n) => !NOT_METRICS.has(n));
  return { heads, positions, metrics, nLayers, nHeads };
}

/** Row-major [nLayers, nHeads] values of `metric` (the heads table is ordered layer, then head). */
export function gridMatrix(d: ProbesData, metric: string): Float32Array {
  const col = d.heads.getChild(metric);
  if (!col) throw new Error(`unknown probe metric "${metric}"; known: ${d.metrics.join(', ')}`);
  return Float32Array.from(col.toArray() as ArrayLike<number>);
}

/** A [nLayers, nHeads] mask with a one at the chosen head, to outline it in the grid. */
export function headMask(d: ProbesData, layer: number, head: number): Uint8Array {
  const m = new Uint8Array(d.nLayers * d.nHeads);
  if (layer >= 0 && layer < d.nLayers && head >= 0 && head < d.nHeads) m[layer * d.nHeads + head] = 1;
  return m;
}

/** Locality profile of one head: `distance` bucket labels ("0", "1", "2–3", …) and `mass`. */
export function localityProfile(d: ProbesData, layer: number, head: number): Table {
  const row = d.heads.get(layer * d.nHeads + head)?.toJSON() as Record<string, number> | undefined;
  const cols = d.metrics.filter((m) => m.startsWith('locality_'));
  return tableFromArrays({
    distance: cols.map((c) => c.slice('locality_'.length).replace('_', '–')),
    mass: Float32Array.from(cols, (c) => row?.[c] ?? 0),
  });
}

/** The per-position rows of one head: position, entropy, sink_mass, mean_distance. */
export function positionProfile(d: ProbesData, layer: number, head: number): Table {
  const P = d.positions.numRows / (d.nLayers * d.nHeads);
  const start = (layer * d.nHeads + head) * P;
  const slice = (name: string) =>
    (d.positions.getChild(name)!.toArray() as Float32Array | Int32Array).slice(start, start + P);
  return tableFromArrays({
    position: slice('position'),
    entropy: slice('entropy'),
    sink_mass: slice('sink_mass'),
    mean_distance: slice('mean_distance'),
  });
}

/** A readable name for a metric column. */
export function metricLabel(metric: string): string {
  const fixed: Record<string, string> = {
    entropy: 'entropy (nats)',
    normalized_entropy: 'normalized entropy',
    sink_mass: 'sink mass',
    mean_distance: 'mean distance (tokens)',
    vertical: 'vertical score',
    slash: 'slash score',
  };
  if (fixed[metric]) return fixed[metric];
  if (metric.startsWith('coverage_top_')) return `top-${metric.slice(13)} coverage`;
  if (metric.startsWith('locality_')) return `mass at distance ${metric.slice(9).replace('_', '–')}`;
  return metric;
}
