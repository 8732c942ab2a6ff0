/**
 * Line chart (SVG) of several series from a long-form table (x, y, series columns): linear or log
 * axes, a legend, hover (and arrow keys) showing every series at the nearest x with a vertical
 * rule, an optional horizontal reference line (e.g. the dense model's loss) and labelled markers
 * (e.g. the sparsity where loss falls off a cliff).
 */
import type { Table } from 'apache-arrow';
import { axisBottom, axisLeft, extent, line, scaleLinear, scaleLog } from 'd3';
import { attachLineHover, type LineSeries } from './line-hover';
import { axisTitle, gridLines, halo, styleAxis, svgRoot, textWidth } from './axis';
import { swatches } from './legend';
import { SERIES_COLORS, THEME, chartFigure, html, readout } from './theme';
import {
  ChartOptionError,
  checkKeys,
  interval,
  numbers,
  oneOf,
  positive,
  requiredName,
  strings,
} from './validate';

/** A labelled point drawn on top of the lines. */
export interface LineMarker {
  x: number;
  y: number;
  label?: string;
}

export interface LineChartOptions {
  /** Column names. Without `series`, the table is one series named after `y`. */
  x: string;
  y: string;
  series?: string;
  xType?: 'linear' | 'log';
  yType?: 'linear' | 'log';
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Axis titles (default: the column names). */
  xLabel?: string;
  yLabel?: string;
  title?: string;
  ariaLabel?: string;
  /** Size of the SVG in CSS px (default 560 × 320). */
  width?: number;
  height?: number;
  /** Colours by series name, or a list used in order of first appearance. */
  colors?: Record<string, string> | readonly string[];
  /** A horizontal line at `y` with an optional label, e.g. `{ y: 1.297, label: 'dense' }`. */
  reference?: { y: number; label?: string } | null;
  markers?: readonly LineMarker[];
  /** Dots on every data point (default: when no series has more than 40 points). */
  points?: boolean;
}

const KEYS = [
  'x',
  'y',
  'series',
  'xType',
  'yType',
  'xDomain',
  'yDomain',
  'xLabel',
  'yLabel',
  'title',
  'ariaLabel',
  'width',
  'height',
  'colors',
  'reference',
  'markers',
  'points',
];

type Series = LineSeries;

/**
 * @example
 * cell.append(lineChart(table, { x: 'sparsity', y: 'loss', series: 'method', reference: { y: 1.297, label: 'dense' } }));
 */
export function lineChart(table: Table, opts: LineChartOptions): HTMLElement {
  checkKeys('lineChart', opts, KEYS);
  const C = 'lineChart';
  const xs = numbers(C, table, requiredName(C, 'x', opts.x), 'x');
  const ys = numbers(C, table, requiredName(C, 'y', opts.y), 'y');
  const names = opts.series ? strings(C, table, opts.series, 'series') : null;
  const xType = oneOf(C, 'xType', opts.xType ?? 'linear', ['linear', 'log'] as const);
  const yType = oneOf(C, 'yType', opts.yType ?? 'linear', ['linear', 'log'] as const);
  const width = positive(C, 'width', opts.width ?? 560);
  const height = positive(C, 'height', opts.height ?? 320);
  const xLabel = opts.xLabel ?? opts.x;
  const yLabel = opts.yLabel ?? opts.y;

  const groups = new Map<string, Series>();
  let dropped = 0;
  for (let i = 0; i < xs.length; i++) {
    const [x, y] = [xs[i]!, ys[i]!];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if ((xType === 'log' && x <= 0) || (yType === 'log' && y <= 0)) {
      dropped++;
      continue;
    }
    const name = names ? (names[i] ?? '(none)') : yLabel;
    let s = groups.get(name);
    if (!s) groups.set(name, (s = { name, color: '', xs: [], ys: [] }));
    s.xs.push(x);
    s.ys.push(y);
  }
  const series = [...groups.values()];
  if (!series.length)
    throw new ChartOptionError(C, 'y', `no finite (x, y) points to draw in columns "${opts.x}", "${opts.y}"`);
  series.forEach((s, i) => {
    const order = s.xs.map((_, j) => j).sort((a, b) => s.xs[a]! - s.xs[b]!);
    s.xs = order.map((j) => s.xs[j]!);
    s.ys = order.map((j) => s.ys[j]!);
    const c = opts.colors;
    s.color =
      (Array.isArray(c) ? c[i] : (c as Record<string, string> | undefined)?.[s.name]) ??
      SERIES_COLORS[i % SERIES_COLORS.length]!;
  });

  const markers = opts.markers ?? [];
  const ref = opts.reference ?? null;
  const allX = series.flatMap((s) => s.xs).concat(markers.map((m) => m.x));
  const allY = series
    .flatMap((s) => s.ys)
    .concat(
      markers.map((m) => m.y),
      ref ? [ref.y] : [],
    );
  const x = (xType === 'log' ? scaleLog() : scaleLinear()).domain(
    opts.xDomain ? interval(C, 'xDomain', opts.xDomain) : (extent(allX) as [number, number]),
  );
  const y = (yType === 'log' ? scaleLog() : scaleLinear()).domain(
    opts.yDomain ? interval(C, 'yDomain', opts.yDomain) : (extent(allY) as [number, number]),
  );
  if (!opts.yDomain) y.nice();
  const yTicks = y.ticks(Math.max(2, Math.floor(height / 45)));
  const yFormat = y.tickFormat(Math.max(2, Math.floor(height / 45)), '~g');
  const m = {
    top: 10,
    right: 16,
    bottom: 40,
    left: 22 + Math.max(...yTicks.map((t) => textWidth(yFormat(t)))),
  };
  x.range([0, width - m.left - m.right]);
  y.range([height - m.top - m.bottom, 0]);
  const [pw, ph] = [width - m.left - m.right, height - m.top - m.bottom];

  const fig = chartFigure('line-chart', opts.title);
  if (names)
    fig.append(swatches(series.map((s) => ({ label: s.name, color: s.color, shape: 'line' as const }))));
  const label =
    opts.ariaLabel ??
    `${opts.title ? `${opts.title}: ` : ''}line chart of ${yLabel} against ${xLabel}, ${series.length} series: ${series.map((s) => s.name).join(', ')}`;
  const svg = svgRoot(width, height, label).attr('tabindex', 0);
  const plot = svg.append('g').attr('transform', `translate(${m.left},${m.top})`);
  gridLines(
    plot.append('g'),
    yTicks.map((t) => y(t)),
    pw,
    'y',
  );
  plot
    .append('g')
    .attr('transform', `translate(0,${ph})`)
    .call(axisBottom(x).ticks(Math.max(2, Math.floor(pw / 80)), '~g'))
    .call(styleAxis);
  plot.append('g').call(axisLeft(y).tickValues(yTicks).tickFormat(yFormat)).call(styleAxis);
  axisTitle(plot, xLabel)
    .attr('x', pw / 2)
    .attr('y', ph + 34)
    .attr('text-anchor', 'middle');
  axisTitle(plot, yLabel)
    .attr('transform', `translate(${14 - m.left},${ph / 2}) rotate(-90)`)
    .attr('text-anchor', 'middle');

  if (ref) {
    const g = plot
      .append('g')
      .attr('class', 'sb-reference')
      .attr('transform', `translate(0,${y(ref.y)})`);
    g.append('line').attr('x2', pw).style('stroke', THEME.muted).style('stroke-dasharray', '5 4');
    if (ref.label)
      g.append('text')
        .attr('x', pw - 4)
        .attr('y', -5)
        .attr('text-anchor', 'end')
        .text(ref.label)
        .style('fill', THEME.muted)
        .call(halo);
  }
  const path = line<[number, number]>()
    .x((d) => x(d[0]))
    .y((d) => y(d[1]));
  const lines = plot
    .append('g')
    .attr('class', 'sb-lines')
    .style('fill', 'none')
    .style('stroke-width', '1.75');
  const showPoints = opts.points ?? Math.max(...series.map((s) => s.xs.length)) <= 40;
  for (const s of series) {
    lines
      .append('path')
      .attr('d', path(s.xs.map((v, i) => [v, s.ys[i]!])))
      .style('stroke', s.color)
      .attr('data-series', s.name);
    if (showPoints) {
      const dots = plot.append('g').style('fill', s.color);
      s.xs.forEach((xv, i) => dots.append('circle').attr('cx', x(xv)).attr('cy', y(s.ys[i]!)).attr('r', 2.5));
    }
  }
  for (const mk of markers) {
    const g = plot
      .append('g')
      .attr('class', 'sb-marker')
      .attr('transform', `translate(${x(mk.x)},${y(mk.y)})`);
    g.append('circle')
      .attr('r', 4.5)
      .style('fill', THEME.text)
      .style('stroke', THEME.surface)
      .style('stroke-width', '1.5');
    // Left of the point by default: curves here mostly rise to the right, leaving the upper left clear.
    const right = x(mk.x) > pw * 0.3;
    if (mk.label)
      g.append('text')
        .attr('x', right ? -8 : 8)
        .attr('y', -8)
        .attr('text-anchor', right ? 'end' : 'start')
        .text(mk.label)
        .style('fill', THEME.text)
        .call(halo);
  }
  const out = readout('Hover or use ← → to read values.');
  fig.append(svg.node()!, out.element);
  if (dropped) {
    const note = html('p', { class: 'sb-note' }, { margin: '2px 0 0', color: THEME.muted });
    note.textContent = `${dropped} point${dropped === 1 ? '' : 's'} ≤ 0 not shown on the log axis.`;
    fig.append(note);
  }
  attachLineHover(plot, x, y, pw, ph, series, xLabel, out);
  return fig;
}
