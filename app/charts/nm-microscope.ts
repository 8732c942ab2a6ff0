/**
 * N:M microscope (SVG): a few rows × a few groups of M consecutive weights of one matrix, each
 * weight's value written in its cell, kept weights coloured by value (diverging around 0), pruned
 * ones greyed and struck through, every group of M outlined (red when it does not keep exactly N).
 * `nmMicroscopeLayout` is the pure part (which cells, which groups, counts); `nmMicroscope` draws it.
 */
import { colorScale } from './color';
import { svgRoot } from './axis';
import { THEME, chartFigure, formatValue } from './theme';
import { ChartOptionError, checkKeys, positive } from './validate';

export interface NmMicroscopeOptions {
  /** Kept weights per group (N) and group size (M). */
  n: number;
  m: number;
  /** First row and first group shown (default 0); clamped into the matrix. */
  row0?: number;
  group0?: number;
  /** Rows and groups shown (default 8 × 4). */
  rows?: number;
  groups?: number;
  /** Values after pruning (SparseGPT updates kept weights); default: the dense values. */
  after?: ArrayLike<number> | null;
  title?: string;
  ariaLabel?: string;
  /** Cell size in CSS px (default 44 × 26). */
  cellWidth?: number;
  cellHeight?: number;
}

const KEYS = [
  'n',
  'm',
  'row0',
  'group0',
  'rows',
  'groups',
  'after',
  'title',
  'ariaLabel',
  'cellWidth',
  'cellHeight',
];
const C = 'nmMicroscope';

export interface MicroscopeCell {
  row: number;
  col: number;
  /** Dense value, and the value after pruning (0 when pruned). */
  value: number;
  after: number;
  kept: boolean;
}

export interface MicroscopeGroup {
  row: number;
  /** Group index along the row (columns group·M … group·M + M − 1). */
  group: number;
  col0: number;
  kept: number;
  /** True when the group keeps exactly N weights. */
  ok: boolean;
}

export interface MicroscopeLayout {
  row0: number;
  group0: number;
  rows: number;
  groups: number;
  /** Row-major over the window: rows × (groups · M). */
  cells: MicroscopeCell[];
  groupsShown: MicroscopeGroup[];
  /** Largest |value| in the window (colour domain), at least 1e-12. */
  maxAbs: number;
}

/**
 * The window of an N:M mask to draw. Pure.
 *
 * @example
 * const l = nmMicroscopeLayout(w, mask, 64, 64, { n: 2, m: 4, rows: 4, groups: 3 });
 * l.groupsShown.every((g) => g.ok);
 */
export function nmMicroscopeLayout(
  dense: ArrayLike<number>,
  mask: ArrayLike<number>,
  nRows: number,
  nCols: number,
  opts: NmMicroscopeOptions,
): MicroscopeLayout {
  checkKeys(C, opts, KEYS);
  const { n, m } = opts;
  if (!Number.isInteger(m) || m < 1) throw new ChartOptionError(C, 'm', `must be an integer ≥ 1, got ${m}`);
  if (!Number.isInteger(n) || n < 0 || n > m)
    throw new ChartOptionError(C, 'n', `must be an integer in [0, ${m}], got ${n}`);
  if (!Number.isInteger(nRows) || !Number.isInteger(nCols) || nRows < 1 || nCols < 1)
    throw new ChartOptionError(C, 'shape', `invalid matrix shape [${nRows}, ${nCols}]`);
  if (nCols % m !== 0)
    throw new ChartOptionError(C, 'm', `${nCols} columns do not split into groups of ${m}`);
  for (const [name, a] of [
    ['data', dense],
    ['mask', mask],
    ['after', opts.after],
  ] as const) {
    if (a && a.length !== nRows * nCols)
      throw new ChartOptionError(C, name, `${name} has ${a.length} entries, not [${nRows}, ${nCols}]`);
  }
  const nGroups = nCols / m;
  const rows = Math.min(nRows, Math.max(1, Math.floor(opts.rows ?? 8)));
  const groups = Math.min(nGroups, Math.max(1, Math.floor(opts.groups ?? 4)));
  const clamp = (v: number | undefined, hi: number) => Math.min(hi, Math.max(0, Math.floor(v ?? 0) || 0));
  const row0 = clamp(opts.row0, nRows - rows);
  const group0 = clamp(opts.group0, nGroups - groups);
  const cells: MicroscopeCell[] = [];
  const groupsShown: MicroscopeGroup[] = [];
  let maxAbs = 1e-12;
  for (let r = row0; r < row0 + rows; r++) {
    for (let g = group0; g < group0 + groups; g++) {
      let kept = 0;
      for (let c = g * m; c < (g + 1) * m; c++) {
        const i = r * nCols + c;
        const value = dense[i]!;
        const isKept = mask[i] !== 0;
        kept += isKept ? 1 : 0;
        const after = isKept ? (opts.after ? opts.after[i]! : value) : 0;
        cells.push({ row: r, col: c, value, after, kept: isKept });
        maxAbs = Math.max(maxAbs, Math.abs(value), Math.abs(after));
      }
      groupsShown.push({ row: r, group: g, col0: g * m, kept, ok: kept === n });
    }
  }
  return { row0, group0, rows, groups, cells, groupsShown, maxAbs };
}

/**
 * @example
 * node.append(nmMicroscope(dense, mask, 64, 172, { n: 2, m: 4, rows: 6, groups: 4 }));
 */
export function nmMicroscope(
  dense: ArrayLike<number>,
  mask: ArrayLike<number>,
  nRows: number,
  nCols: number,
  opts: NmMicroscopeOptions,
): HTMLElement {
  const l = nmMicroscopeLayout(dense, mask, nRows, nCols, opts);
  const cw = positive(C, 'cellWidth', opts.cellWidth ?? 44);
  const ch = positive(C, 'cellHeight', opts.cellHeight ?? 26);
  const { m } = opts;
  const gap = 6;
  const left = 40;
  const top = 30;
  const width = left + l.groups * (m * cw + gap);
  const height = top + l.rows * ch + 4;
  const scale = colorScale(C, { scale: 'diverging', scheme: 'burd', domain: [-l.maxAbs, l.maxAbs] }, []);
  const updated = !!opts.after;

  const fig = chartFigure('nm-microscope', opts.title);
  fig.dataset.groups = String(l.groupsShown.length);
  fig.dataset.kept = String(l.cells.filter((c) => c.kept).length);
  fig.dataset.cells = String(l.cells.length);
  fig.dataset.bad = String(l.groupsShown.filter((g) => !g.ok).length);
  const label =
    opts.ariaLabel ??
    `${opts.n}:${m} microscope, rows ${l.row0}–${l.row0 + l.rows - 1}, columns ${l.group0 * m}–${(l.group0 + l.groups) * m - 1}: ${fig.dataset.kept} of ${l.cells.length} weights kept`;
  const svg = svgRoot(width, height, label);
  const xOf = (col: number) => left + Math.floor(col / m - l.group0) * (m * cw + gap) + (col % m) * cw;
  const yOf = (row: number) => top + (row - l.row0) * ch;

  // Column indices over each group's first and last cell, row indices on the left.
  const heads = svg.append('g').style('fill', THEME.muted).style('font-size', '10px');
  for (let g = l.group0; g < l.group0 + l.groups; g++) {
    heads
      .append('text')
      .attr('x', xOf(g * m) + (m * cw) / 2)
      .attr('y', top - 16)
      .attr('text-anchor', 'middle')
      .text(`cols ${g * m}–${g * m + m - 1}`);
  }
  for (let r = l.row0; r < l.row0 + l.rows; r++)
    heads
      .append('text')
      .attr('x', left - 6)
      .attr('y', yOf(r) + ch / 2 + 3.5)
      .attr('text-anchor', 'end')
      .text(`r${r}`);

  const cells = svg.append('g').attr('class', 'sb-cells').style('font-family', THEME.mono);
  for (const c of l.cells) {
    const g = cells
      .append('g')
      .attr('class', c.kept ? 'sb-kept' : 'sb-pruned')
      .attr('transform', `translate(${xOf(c.col)},${yOf(c.row)})`);
    const shown = c.kept ? c.after : c.value;
    const title = `row ${c.row}, col ${c.col}: ${formatValue(c.value)} ${c.kept ? (updated ? `kept → ${formatValue(c.after)}` : 'kept') : 'pruned'}`;
    g.append('title').text(title);
    g.append('rect')
      .attr('width', cw)
      .attr('height', ch)
      .style('fill', c.kept ? scale.color(shown) : THEME.surface2)
      .style('stroke', THEME.border)
      .style('stroke-width', '0.5');
    g.append('text')
      .attr('x', cw / 2)
      .attr('y', ch / 2 + 3.5)
      .attr('text-anchor', 'middle')
      .style('font-size', '10px')
      .style('fill', c.kept ? scale.ink(shown) : THEME.muted)
      .style('text-decoration', c.kept ? 'none' : 'line-through')
      .text(short(shown));
    if (!c.kept)
      g.append('line')
        .attr('x1', 3)
        .attr('y1', ch - 3)
        .attr('x2', cw - 3)
        .attr('y2', 3)
        .style('stroke', THEME.muted)
        .style('stroke-width', '0.75')
        .style('opacity', '0.6');
  }
  const outlines = svg.append('g').attr('class', 'sb-groups').style('fill', 'none');
  for (const g of l.groupsShown)
    outlines
      .append('rect')
      .attr('x', xOf(g.col0))
      .attr('y', yOf(g.row))
      .attr('width', m * cw)
      .attr('height', ch)
      .attr('data-kept', g.kept)
      .style('stroke', g.ok ? THEME.text : THEME.danger)
      .style('stroke-width', g.ok ? '1.5' : '2.5');
  fig.append(svg.node()!);
  return fig;
}

/** A value in a narrow cell: 3 significant digits, `−` for minus. */
function short(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s = a >= 0.01 && a < 100 ? v.toFixed(a >= 10 ? 1 : a >= 1 ? 2 : 3) : v.toExponential(1);
  return s.replace('-', '−');
}
