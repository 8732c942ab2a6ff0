/**
 * Arrow tables of the attention probes, with documented column schemas (as runtime/tables.ts).
 * Column names are snake_case; each schema names its kind under the `sparsebook.table` metadata
 * key. The head table has one coverage column per k and one locality column per distance bucket,
 * so its schema depends on the run (`headProbeSchema(ks, nBuckets)`).
 */
import { Field, Float32, Int32, makeVector, Schema, Table } from 'apache-arrow';
import { TABLE_KIND_KEY, tableOf } from '../../runtime/tables';
import type { HeadProbe, PositionProbes, ProbeShape } from './probe-accumulator';
import { bucketRange } from './probe-metrics';

/**
 * Per-head probe table: one row per (layer, head), layers then heads ascending. Means are over
 * every query row i of every window unless said otherwise.
 *
 * - `layer` (int32), `head` (int32): block and query-head index.
 * - `rows` (int32): query rows aggregated.
 * - `entropy` (float32): mean −Σ_j p_ij log p_ij, nats.
 * - `normalized_entropy` (float32): mean entropy / log(i + 1) over rows i ≥ 1; 1 = uniform.
 * - `sink_mass` (float32): mean mass on the window's first nSink tokens (the attention sink; BOS
 *   when the window starts a document). Rows i < nSink count as 1.
 * - `mean_distance` (float32): mean Σ_j p_ij (i − j), tokens.
 * - `k90`, `k95`, `k99` (float32): mean smallest k whose top-k keys hold 90 / 95 / 99 % of the row.
 * - `coverage_top_{k}` (float32), one per k: mean mass of the row's k largest entries, in [0, 1],
 *   non-decreasing in k (`HEAD_PROBE_COLUMNS.coverage(k)`).
 * - `locality_{lo}_{hi}` (float32), one per distance bucket (`locality_0`, `locality_1`,
 *   `locality_2_3`, `locality_4_7`, …): mean mass at distances lo ≤ i − j ≤ hi; sums to 1
 *   (`HEAD_PROBE_COLUMNS.locality(b)`).
 * - `vertical`, `slash` (float32): column and diagonal structure scores in [0, 1] (`lineScores`:
 *   share of mass on the top-c key columns / offsets, above the uniform baseline), mean over
 *   windows weighted by window length.
 */
export const HEAD_PROBE_COLUMNS = {
  layer: 'layer',
  head: 'head',
  rows: 'rows',
  entropy: 'entropy',
  normalizedEntropy: 'normalized_entropy',
  sinkMass: 'sink_mass',
  meanDistance: 'mean_distance',
  k90: 'k90',
  k95: 'k95',
  k99: 'k99',
  coverage: (k: number) => `coverage_top_${k}`,
  locality: (b: number) => {
    const [lo, hi] = bucketRange(b);
    return lo === hi ? `locality_${lo}` : `locality_${lo}_${hi}`;
  },
  vertical: 'vertical',
  slash: 'slash',
} as const;

/** Arrow schema of the per-head table for these ks and bucket count; no column is nullable. */
export function headProbeSchema(ks: readonly number[], nBuckets: number): Schema {
  const C = HEAD_PROBE_COLUMNS;
  const f32 = (name: string) => new Field(name, new Float32(), false);
  return new Schema(
    [
      new Field(C.layer, new Int32(), false),
      new Field(C.head, new Int32(), false),
      new Field(C.rows, new Int32(), false),
      ...[C.entropy, C.normalizedEntropy, C.sinkMass, C.meanDistance, C.k90, C.k95, C.k99].map(f32),
      ...ks.map((k) => f32(C.coverage(k))),
      ...Array.from({ length: nBuckets }, (_, b) => f32(C.locality(b))),
      f32(C.vertical),
      f32(C.slash),
    ],
    new Map([[TABLE_KIND_KEY, 'attention-head-probes']]),
  );
}

/**
 * The per-head table (see `HEAD_PROBE_COLUMNS`).
 *
 * @example
 * headProbeTable(heads, [1, 2, 4], 10).getChild('sink_mass')?.toArray(); // Float32Array [L×H]
 */
export function headProbeTable(heads: readonly HeadProbe[], ks: readonly number[], nBuckets: number): Table {
  const f = (g: (h: HeadProbe) => number) => makeVector(Float32Array.from(heads, g));
  const i = (g: (h: HeadProbe) => number) => makeVector(Int32Array.from(heads, g));
  return tableOf(headProbeSchema(ks, nBuckets), heads.length, [
    i((h) => h.layer),
    i((h) => h.head),
    i((h) => h.rows),
    f((h) => h.entropy),
    f((h) => h.normalizedEntropy),
    f((h) => h.sinkMass),
    f((h) => h.meanDistance),
    f((h) => h.k90),
    f((h) => h.k95),
    f((h) => h.k99),
    ...ks.map((_, k) => f((h) => h.coverage[k]!)),
    ...Array.from({ length: nBuckets }, (_, b) => f((h) => h.locality[b]!)),
    f((h) => h.vertical),
    f((h) => h.slash),
  ]);
}

/**
 * Per-query-position table: one row per (layer, head, position) for positions 0..longest window−1,
 * layers, heads, positions ascending; means over the windows that reach the position.
 *
 * - `layer`, `head`, `position` (int32): position = query index i inside the window.
 * - `windows` (int32): windows long enough to have that position.
 * - `entropy` (float32): mean entropy of row i, nats (0 at position 0).
 * - `sink_mass` (float32): mean mass on the first nSink tokens.
 * - `mean_distance` (float32): mean Σ_j p_ij (i − j), tokens.
 */
export const POSITION_PROBE_COLUMNS = {
  layer: 'layer',
  head: 'head',
  position: 'position',
  windows: 'windows',
  entropy: 'entropy',
  sinkMass: 'sink_mass',
  meanDistance: 'mean_distance',
} as const;

export const POSITION_PROBE_SCHEMA = new Schema(
  [
    new Field(POSITION_PROBE_COLUMNS.layer, new Int32(), false),
    new Field(POSITION_PROBE_COLUMNS.head, new Int32(), false),
    new Field(POSITION_PROBE_COLUMNS.position, new Int32(), false),
    new Field(POSITION_PROBE_COLUMNS.windows, new Int32(), false),
    new Field(POSITION_PROBE_COLUMNS.entropy, new Float32(), false),
    new Field(POSITION_PROBE_COLUMNS.sinkMass, new Float32(), false),
    new Field(POSITION_PROBE_COLUMNS.meanDistance, new Float32(), false),
  ],
  new Map([[TABLE_KIND_KEY, 'attention-position-probes']]),
);

/** The per-position table (see `POSITION_PROBE_COLUMNS`). */
export function positionProbeTable(p: PositionProbes, shape: ProbeShape): Table {
  const { nLayers, nHeads, seqLen } = shape;
  let P = 0;
  while (P < seqLen && p.windows[P]! > 0) P++;
  const n = nLayers * nHeads * P;
  const layer = new Int32Array(n);
  const head = new Int32Array(n);
  const position = new Int32Array(n);
  const windows = new Int32Array(n);
  const entropy = new Float32Array(n);
  const sink = new Float32Array(n);
  const distance = new Float32Array(n);
  let r = 0;
  for (let l = 0; l < nLayers; l++) {
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < P; i++, r++) {
        const src = (l * nHeads + h) * seqLen + i;
        layer[r] = l;
        head[r] = h;
        position[r] = i;
        windows[r] = p.windows[i]!;
        entropy[r] = p.entropy[src]!;
        sink[r] = p.sinkMass[src]!;
        distance[r] = p.meanDistance[src]!;
      }
    }
  }
  const cols = [layer, head, position, windows, entropy, sink, distance].map((a) => makeVector(a));
  return tableOf(POSITION_PROBE_SCHEMA, n, cols);
}
