/**
 * Pure helpers of the SAE features cell's views: the feature list read from its Arrow table and
 * sorted, densities and activations formatted, the feature card's histogram table, token shading
 * and the steering diff. No Svelte, so Node tests cover them.
 */
import { tableFromArrays, type Table } from 'apache-arrow';
import type { Json } from '../../notebook/cell-runtime';
import type { PromptToken } from '../../../analyses/sae/features';

/** Columns the feature list can be sorted by, with their header labels. */
export const SORT_KEYS = {
  density: 'Density',
  max_activation: 'Max act.',
  mean_activation: 'Mean act.',
} as const;

export type SortKey = keyof typeof SORT_KEYS;

/** Rows shown per page of the feature list. */
export const PAGE_SIZE = 50;

/** One latent of the feature list (a row of FEATURE_LIST_SCHEMA). */
export interface FeatureRow {
  feature: number;
  density: number;
  max_activation: number;
  mean_activation: number;
  fired: number;
}

/** `params.sortBy` as a sort key (density when it is anything else). */
export function sortKeyOf(value: unknown): SortKey {
  return typeof value === 'string' && Object.hasOwn(SORT_KEYS, value) ? (value as SortKey) : 'density';
}

function column(table: Table, name: string): ArrayLike<number> {
  const c = table.getChild(name);
  if (!c) throw new Error(`the feature list has no "${name}" column`);
  return c.toArray() as ArrayLike<number>;
}

/** The feature list table (FEATURE_LIST_SCHEMA) as rows, in table order. */
export function featureRows(table: Table): FeatureRow[] {
  const f = column(table, 'feature');
  const d = column(table, 'density');
  const mx = column(table, 'max_activation');
  const mn = column(table, 'mean_activation');
  const fired = column(table, 'fired');
  return Array.from({ length: table.numRows }, (_, i) => ({
    feature: Number(f[i]),
    density: Number(d[i]),
    max_activation: Number(mx[i]),
    mean_activation: Number(mn[i]),
    fired: Number(fired[i]),
  }));
}

/**
 * Rows sorted by a column (a new array); ties, and NaN placed last either way, keep feature order,
 * so the list does not shuffle between sorts.
 *
 * @example
 * sortFeatures(rows, 'max_activation', true)[0].feature; // the strongest feature
 */
export function sortFeatures(rows: readonly FeatureRow[], key: SortKey, descending: boolean): FeatureRow[] {
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
    } else if (x !== y) return sign * (x - y);
    return a.feature - b.feature;
  });
}

/** The rows of page `page` (clamped to the pages there are) and how many pages there are. */
export function pageOf<T>(
  rows: readonly T[],
  page: number,
  size = PAGE_SIZE,
): { rows: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const p = Math.min(Math.max(0, Math.floor(page) || 0), pages - 1);
  return { rows: rows.slice(p * size, (p + 1) * size), page: p, pages };
}

/**
 * A firing density (fraction of tokens, 0..1) as a percentage with about two significant digits
 * for rare features.
 *
 * @example
 * formatDensity(0.1234); // "12.3%"
 * formatDensity(0.000482); // "0.048%"
 */
export function formatDensity(d: number): string {
  if (!Number.isFinite(d)) return '—';
  if (d <= 0) return '0%';
  const pct = d * 100;
  if (pct >= 1) return `${pct.toFixed(1)}%`;
  if (pct < 1e-4) return '<0.0001%';
  return `${Number(pct.toPrecision(2))}%`;
}

/** An activation with 3 significant digits ("—" for NaN). */
export function formatActivation(a: number): string {
  if (!Number.isFinite(a)) return '—';
  if (a === 0) return '0';
  const abs = Math.abs(a);
  return abs >= 1000 || abs < 0.001 ? a.toExponential(2) : String(Number(a.toPrecision(3)));
}

/**
 * Width (0..1) of a density bar on a log scale from `floor` (the rarest density a browse can see,
 * one token: 1 / tokens) to 1, so rare features still show a sliver; 0 for a silent feature.
 */
export function densityBar(d: number, floor: number): number {
  if (!(d > 0)) return 0;
  const lo = Math.log10(Math.min(Math.max(floor, 1e-12), 0.5));
  const x = (Math.log10(Math.min(d, 1)) - lo) / -lo;
  return Math.min(1, Math.max(0.04, x));
}

/** Background intensity (0..1) of a token with activation `a` when the strongest is `max`. */
export function activationShade(a: number, max: number): number {
  if (!(max > 0) || !Number.isFinite(a)) return 0;
  return Math.min(1, Math.max(0, Math.abs(a) / max));
}

/** A feature card's histogram (bin edges and counts) as pre-binned columns x0, x1, count. */
export function histogramTable(edges: readonly number[], counts: readonly number[]): Table {
  if (edges.length !== counts.length + 1)
    throw new RangeError(
      `a histogram needs one more edge than counts, got ${edges.length} and ${counts.length}`,
    );
  return tableFromArrays({
    x0: Float64Array.from(edges.slice(0, -1)),
    x1: Float64Array.from(edges.slice(1)),
    count: Float64Array.from(counts),
  });
}

/**
 * Baseline and steered text split at where they first differ, backed off to the last whitespace
 * so the highlighted part starts at a whole word.
 *
 * @example
 * splitCommon('Once upon a time a cat', 'Once upon a time the dog');
 * // { common: 'Once upon a time ', baseline: 'a cat', steered: 'the dog' }
 */
export function splitCommon(
  baseline: string,
  steered: string,
): { common: string; baseline: string; steered: string } {
  const n = Math.min(baseline.length, steered.length);
  let i = 0;
  while (i < n && baseline[i] === steered[i]) i++;
  if (i < baseline.length || i < steered.length) {
    const ws = Math.max(baseline.lastIndexOf(' ', i - 1), baseline.lastIndexOf('\n', i - 1));
    if (i > 0 && !/\s/.test(baseline[i - 1]!)) i = ws >= 0 ? ws + 1 : 0;
  }
  return { common: baseline.slice(0, i), baseline: baseline.slice(i), steered: steered.slice(i) };
}

/** A feature index typed by the user, or undefined when it is not one of `dSae` features. */
export function featureIndex(value: unknown, dSae: number): number | undefined {
  let n = typeof value === 'number' ? value : NaN;
  if (typeof value === 'string') {
    const s = value.trim().replace(/^#/, '');
    if (/^\d+$/.test(s)) n = Number(s);
  }
  return Number.isInteger(n) && n >= 0 && n < dSae ? n : undefined;
}

/** Kept PromptTokens read back (a report's: untrusted), or undefined when they are not. */
export function parsePromptTokens(value: Json | undefined): PromptToken[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const whole = (v: Json | undefined) => typeof v === 'number' && Number.isInteger(v);
  const out: PromptToken[] = [];
  for (const t of value) {
    if (!t || typeof t !== 'object' || Array.isArray(t)) return undefined;
    if (
      !whole(t.position) ||
      !whole(t.tokenId) ||
      typeof t.token !== 'string' ||
      !Array.isArray(t.features)
    ) {
      return undefined;
    }
    const features: PromptToken['features'] = [];
    for (const f of t.features) {
      if (!f || typeof f !== 'object' || Array.isArray(f)) return undefined;
      if (!whole(f.feature) || typeof f.activation !== 'number') return undefined;
      features.push({ feature: f.feature as number, activation: f.activation });
    }
    out.push({ position: t.position as number, tokenId: t.tokenId as number, token: t.token, features });
  }
  return out;
}
