/**
 * What the pruning sweep view draws, computed from the result's tables: the curves (one series
 * per method × pattern, dense row left out), the markers (each curve's cliff point, each N:M
 * point, the selected point), the points to pick from and one point's per-layer sparsity bars.
 * Pure (Arrow tables in, tables and plain data out), so it is tested in Node.
 */
import { tableFromArrays, type Table } from 'apache-arrow';
import type { LineMarker } from '../../charts/line-chart';

/** View-only x axes of the curves: column → axis title. */
export const X_AXES = {
  sparsity: 'sparsity (share of the pattern’s unit removed)',
  weight_sparsity: 'weight sparsity (all block linears)',
  nonzeros: 'non-zero weights',
  flops: 'FLOPs per token (block linears)',
  bytes_dense: 'bytes, dense f32',
  bytes_csr: 'bytes, CSR',
  bytes_nm: 'bytes, 2:4 compressed',
} as const;

/** View-only y axes: column → axis title. */
export const Y_AXES = {
  loss: 'loss (nats)',
  perplexity: 'perplexity',
  agreement: 'next-token agreement with dense',
} as const;

export type XAxis = keyof typeof X_AXES;
export type YAxis = keyof typeof Y_AXES;

export function xAxisOf(v: unknown): XAxis {
  return String(v) in X_AXES ? (String(v) as XAxis) : 'sparsity';
}

export function yAxisOf(v: unknown): YAxis {
  return String(v) in Y_AXES ? (String(v) as YAxis) : 'loss';
}

/** One pruned point of the sweep. */
export interface PointChoice {
  /** Row − 1 in the points table (what the worker's mask / export requests name). */
  variant: number;
  method: string;
  pattern: string;
  sparsity: number;
  label: string;
}

const col = (t: Table, name: string): unknown[] => {
  const c = t.getChild(name);
  if (!c) throw new Error(`the points table has no column "${name}"`);
  return [...c];
};

const isNm = (pattern: string) => /^\d+:\d+$/.test(pattern);

/** The pruned points (every row but the dense first one). */
export function pointChoices(points: Table): PointChoice[] {
  const methods = col(points, 'method').map(String);
  const patterns = col(points, 'pattern').map(String);
  const sparsities = col(points, 'sparsity').map(Number);
  const out: PointChoice[] = [];
  for (let i = 0; i < methods.length; i++) {
    if (methods[i] === 'dense') continue;
    const [method, pattern, sparsity] = [methods[i]!, patterns[i]!, sparsities[i]!];
    const label = isNm(pattern)
      ? `${method} ${pattern}`
      : `${method} ${pattern} ${Math.round(sparsity * 1000) / 10}%`;
    out.push({ variant: i - 1, method, pattern, sparsity, label });
  }
  return out;
}

/** Curves for `lineChart`: columns x, y, `curve` (method + pattern); non-finite points dropped. */
export function curveTable(points: Table, x: XAxis, y: YAxis): Table {
  const methods = col(points, 'method').map(String);
  const patterns = col(points, 'pattern').map(String);
  const xs = col(points, x).map(Number);
  const ys = col(points, y).map(Number);
  const keep = methods.map((m, i) => m !== 'dense' && Number.isFinite(xs[i]) && Number.isFinite(ys[i]));
  const pick = <T>(a: T[]) => a.filter((_, i) => keep[i]);
  return tableFromArrays({
    [x]: Float64Array.from(pick(xs)),
    [y]: Float64Array.from(pick(ys)),
    curve: pick(methods.map((m, i) => `${m} ${patterns[i]}`)),
  });
}

/**
 * Markers: each curve's cliff point (`cliff` = 1, labelled "cliff"), each N:M point (labelled with
 * its pattern: one point per method, no curve) and the selected point; all with finite x and y.
 */
export function sweepMarkers(points: Table, x: XAxis, y: YAxis, selected?: number): LineMarker[] {
  const methods = col(points, 'method').map(String);
  const patterns = col(points, 'pattern').map(String);
  const cliffs = col(points, 'cliff').map(Number);
  const xs = col(points, x).map(Number);
  const ys = col(points, y).map(Number);
  const out: LineMarker[] = [];
  for (let i = 1; i < methods.length; i++) {
    if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) continue;
    const at = { x: xs[i]!, y: ys[i]! };
    const name = `${methods[i]} ${patterns[i]}`;
    if (i - 1 === selected) out.push({ ...at, label: `▸ ${name}` });
    else if (cliffs[i] === 1) out.push({ ...at, label: `${name} cliff` });
    else if (isNm(patterns[i]!)) out.push({ ...at, label: name });
  }
  return out;
}

/** The dense model's value on the y axis (agreement of dense with itself is 1). */
export function denseReference(y: YAxis, dense: { loss: number; perplexity: number }): number {
  return y === 'agreement' ? 1 : dense[y];
}

/** Per-layer sparsity of one point: columns `matrix` ("L0 wq" …) and `matrix_sparsity`. */
export function layerBars(layers: Table, point: Pick<PointChoice, 'method' | 'pattern' | 'sparsity'>): Table {
  const methods = col(layers, 'method').map(String);
  const patterns = col(layers, 'pattern').map(String);
  const sparsities = col(layers, 'sparsity').map(Number);
  const ls = col(layers, 'layer').map(Number);
  const names = col(layers, 'matrix').map(String);
  const values = col(layers, 'matrix_sparsity').map(Number);
  const rows = methods
    .map((_, i) => i)
    .filter(
      (i) =>
        methods[i] === point.method &&
        patterns[i] === point.pattern &&
        Math.abs(sparsities[i]! - point.sparsity) < 1e-9,
    );
  return tableFromArrays({
    matrix: rows.map((i) => `L${ls[i]} ${names[i]}`),
    matrix_sparsity: Float64Array.from(rows, (i) => values[i]!),
  });
}
