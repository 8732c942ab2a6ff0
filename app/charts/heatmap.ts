/**
 * Heatmap on canvas for attention maps and weight masks up to 2048×2048: rendered once at 1 px per
 * cell, then every frame is a single nearest-neighbour `drawImage` of the visible block under the
 * zoom/pan view. Two entry points share one chart:
 *
 * - {@link heatmap}: an Arrow table in long form (row index, column index, value per row);
 * - {@link heatmapFromMatrix}: a dense row-major Float32Array (masks and attention patterns are dense).
 */
import type { Table } from 'apache-arrow';
import { color } from 'd3';
import { colorScale, type ColorOptions } from './color';
import { mountHeatmap, type HeatmapSpec } from './heatmap-canvas';
import { defaultMaxZoom, type View } from './heatmap-view';
import { chartFigure, formatValue, setCaption } from './theme';
import { ChartOptionError, checkKeys, numbers, positive, requiredName } from './validate';

/** A second matrix drawn over the first, e.g. kept (1) / dropped (0) weights. */
export interface HeatmapOverlay {
  /** Row-major, nRows × nCols; 0 and non-zero are the two classes. */
  mask: ArrayLike<number>;
  /** Colours for [zero, non-zero]; null draws nothing. Default: zero cells greyed out. */
  colors?: [string | null, string | null];
  /** Names for [zero, non-zero] in the readout and legend (default `masked`, `kept`). */
  labels?: [string, string];
}

/** Options shared by both entry points. */
export interface HeatmapOptions extends ColorOptions {
  /** Visible caption above the plot. */
  title?: string;
  /** Accessible name of the plot (default: a description from the shape and domain). */
  ariaLabel?: string;
  /** Plot width in CSS px (default 480). */
  width?: number;
  /** Plot height in CSS px (default: square cells, within 120–720). */
  height?: number;
  /** One label per row / column (e.g. tokens), shown on axes and in the readout. */
  rowLabels?: ArrayLike<string> | null;
  colLabels?: ArrayLike<string> | null;
  /** Axis names used in the readout (default `row`, `col`; e.g. `query`, `key`). */
  rowTitle?: string;
  colTitle?: string;
  /** Colour legend: true (default), false, or its title. */
  legend?: boolean | string;
  overlay?: HeatmapOverlay | null;
  /** Largest zoom factor (default: a cell reaches 48 px). */
  maxZoom?: number;
  /** Canvas pixels per CSS px (default `devicePixelRatio`). */
  pixelRatio?: number;
}

/** Long-form table options: which columns hold the row index, column index and value. */
export interface HeatmapTableOptions extends HeatmapOptions {
  rows: string;
  cols: string;
  value: string;
  /** Matrix shape (default: largest index + 1). */
  nRows?: number;
  nCols?: number;
}

/** A live heatmap: mount `element`; `update` swaps data or options in place. */
export interface HeatmapChart<U> {
  element: HTMLElement;
  update(next: Partial<U>): void;
  /** Current zoom/pan `{k, x, y}` (plot CSS px; k = 1 is the whole matrix). */
  view(): View;
  setView(view: View): void;
  destroy(): void;
}

const COMMON = [
  'title',
  'ariaLabel',
  'width',
  'height',
  'rowLabels',
  'colLabels',
  'rowTitle',
  'colTitle',
  'legend',
  'overlay',
  'maxZoom',
  'pixelRatio',
  'scale',
  'scheme',
  'domain',
  'center',
];
const TABLE_KEYS = [...COMMON, 'rows', 'cols', 'value', 'nRows', 'nCols'];

/**
 * Heatmap of a dense row-major matrix.
 *
 * @example
 * const chart = heatmapFromMatrix(pattern, 64, 64, { scale: 'sequential', rowTitle: 'query', colTitle: 'key', rowLabels: tokens, colLabels: tokens });
 * cell.append(chart.element);
 * chart.update({ data: nextHead });
 */
export function heatmapFromMatrix(
  data: ArrayLike<number>,
  nRows: number,
  nCols: number,
  opts: HeatmapOptions = {},
): HeatmapChart<HeatmapOptions & { data: ArrayLike<number>; nRows: number; nCols: number }> {
  checkKeys('heatmap', opts, COMMON);
  let state = { ...opts, data, nRows, nCols };
  const fig = chartFigure('heatmap', opts.title);
  const ctl = mountHeatmap(fig, resolve(state));
  return {
    element: fig,
    update(next) {
      checkKeys('heatmap', next, [...COMMON, 'data', 'nRows', 'nCols']);
      // Resolve before committing: a bad update throws and leaves the chart as it was.
      const spec = resolve({ ...state, ...next });
      state = { ...state, ...next };
      setCaption(fig, state.title);
      ctl.setSpec(spec);
    },
    view: ctl.view,
    setView: ctl.setView,
    destroy: ctl.destroy,
  };
}

/**
 * Heatmap of a long-form table: one row per cell with integer `rows` and `cols` indices.
 * Cells absent from the table are left blank.
 *
 * @example
 * const chart = heatmap(table, { rows: 'query', cols: 'key', value: 'weight', scale: 'diverging' });
 */
export function heatmap(
  table: Table,
  opts: HeatmapTableOptions,
): HeatmapChart<HeatmapTableOptions & { table: Table }> {
  checkKeys('heatmap', opts, TABLE_KEYS);
  let state = { ...opts, table };
  const dense = (s: typeof state) => {
    const { table: t, rows, cols, value, nRows, nCols, ...rest } = s;
    return { ...rest, ...matrixFromTable(t, { rows, cols, value, nRows, nCols }) };
  };
  const fig = chartFigure('heatmap', opts.title);
  const ctl = mountHeatmap(fig, resolve(dense(state)));
  return {
    element: fig,
    update(next) {
      checkKeys('heatmap', next, [...TABLE_KEYS, 'table']);
      const spec = resolve(dense({ ...state, ...next }));
      state = { ...state, ...next };
      setCaption(fig, state.title);
      ctl.setSpec(spec);
    },
    view: ctl.view,
    setView: ctl.setView,
    destroy: ctl.destroy,
  };
}

/**
 * Scatter a long-form table into a dense Float32Array (NaN where no row gives a cell).
 *
 * @example const { data, nRows, nCols } = matrixFromTable(table, { rows: 'query', cols: 'key', value: 'weight' });
 */
export function matrixFromTable(
  table: Table,
  o: Pick<HeatmapTableOptions, 'rows' | 'cols' | 'value' | 'nRows' | 'nCols'>,
): { data: Float32Array; nRows: number; nCols: number } {
  const r = numbers('heatmap', table, requiredName('heatmap', 'rows', o.rows), 'rows');
  const c = numbers('heatmap', table, requiredName('heatmap', 'cols', o.cols), 'cols');
  const v = numbers('heatmap', table, requiredName('heatmap', 'value', o.value), 'value');
  let maxR = -1;
  let maxC = -1;
  for (let i = 0; i < r.length; i++) {
    for (const [x, name] of [
      [r[i]!, o.rows],
      [c[i]!, o.cols],
    ] as const) {
      if (!(Number.isInteger(x) && x >= 0)) {
        throw new ChartOptionError(
          'heatmap',
          name,
          `column "${name}" must hold non-negative integer indices (row ${i} has ${x})`,
        );
      }
    }
    maxR = Math.max(maxR, r[i]!);
    maxC = Math.max(maxC, c[i]!);
  }
  const nRows = o.nRows === undefined ? maxR + 1 : positive('heatmap', 'nRows', o.nRows, true);
  const nCols = o.nCols === undefined ? maxC + 1 : positive('heatmap', 'nCols', o.nCols, true);
  if (maxR >= nRows)
    throw new ChartOptionError('heatmap', 'nRows', `row index ${maxR} is outside nRows = ${nRows}`);
  if (maxC >= nCols)
    throw new ChartOptionError('heatmap', 'nCols', `column index ${maxC} is outside nCols = ${nCols}`);
  if (nRows === 0 || nCols === 0) throw new ChartOptionError('heatmap', 'rows', 'table has no cells');
  const data = new Float32Array(nRows * nCols).fill(NaN);
  for (let i = 0; i < r.length; i++) data[r[i]! * nCols + c[i]!] = v[i]!;
  return { data, nRows, nCols };
}

function resolve(s: HeatmapOptions & { data: ArrayLike<number>; nRows: number; nCols: number }): HeatmapSpec {
  const nRows = positive('heatmap', 'nRows', s.nRows, true);
  const nCols = positive('heatmap', 'nCols', s.nCols, true);
  if (s.data.length !== nRows * nCols) {
    throw new ChartOptionError(
      'heatmap',
      'data',
      `data has ${s.data.length} values but nRows × nCols = ${nRows} × ${nCols} = ${nRows * nCols}`,
    );
  }
  const width = positive('heatmap', 'width', s.width ?? 480);
  const height = positive(
    'heatmap',
    'height',
    s.height ?? Math.round(Math.min(720, Math.max(120, (width * nRows) / nCols))),
  );
  for (const [key, labels, n] of [
    ['rowLabels', s.rowLabels, nRows],
    ['colLabels', s.colLabels, nCols],
  ] as const) {
    if (labels && labels.length !== n) {
      throw new ChartOptionError(
        'heatmap',
        key,
        `option "${key}" has ${labels.length} labels for ${n} ${key === 'rowLabels' ? 'rows' : 'columns'}`,
      );
    }
  }
  const o = s.overlay;
  if (o && o.mask?.length !== nRows * nCols) {
    throw new ChartOptionError(
      'heatmap',
      'overlay',
      `overlay.mask must have nRows × nCols = ${nRows * nCols} values (got ${o.mask?.length})`,
    );
  }
  for (const c of o?.colors ?? []) {
    if (c !== null && !color(c)) {
      throw new ChartOptionError(
        'heatmap',
        'overlay',
        `overlay colour "${c}" is not one d3 can parse (use #rrggbb or rgba(r, g, b, a))`,
      );
    }
  }
  const scale = colorScale('heatmap', s, s.data);
  const [lo, hi] = [scale.domain[0]!, scale.domain.at(-1)!];
  const rowTitle = s.rowTitle ?? 'row';
  const colTitle = s.colTitle ?? 'col';
  return {
    matrix: { data: s.data, nRows, nCols },
    scale,
    overlay: o
      ? {
          mask: o.mask,
          colors: o.colors ?? ['rgba(128, 128, 128, 0.72)', null],
          labels: o.labels ?? ['masked', 'kept'],
        }
      : null,
    width,
    height,
    rowLabels: s.rowLabels ?? null,
    colLabels: s.colLabels ?? null,
    rowTitle,
    colTitle,
    ariaLabel:
      s.ariaLabel ??
      `${s.title ? `${s.title}: ` : ''}heatmap of ${nRows} × ${nCols} cells (${rowTitle} × ${colTitle}), values ${formatValue(lo)} to ${formatValue(hi)}`,
    legend: s.legend === false ? false : typeof s.legend === 'string' ? s.legend : '',
    maxZoom:
      s.maxZoom === undefined
        ? defaultMaxZoom(width, height, nRows, nCols)
        : positive('heatmap', 'maxZoom', s.maxZoom),
    pixelRatio:
      s.pixelRatio === undefined
        ? globalThis.devicePixelRatio || 1
        : positive('heatmap', 'pixelRatio', s.pixelRatio),
  };
}
