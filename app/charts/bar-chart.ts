/**
 * Bar chart (SVG) of a category column against a value column, horizontal (default: long labels
 * such as tokens read naturally) or vertical, optionally sorted, with value labels at the bar ends.
 */
import type { Table } from 'apache-arrow';
import { axisBottom, axisLeft, extent, format as d3format, scaleBand, scaleLinear } from 'd3';
import { axisTitle, gridLines, styleAxis, svgRoot, textWidth } from './axis';
import { indexHover } from './hover';
import { THEME, chartFigure, formatValue, readout } from './theme';
import { displayToken } from '../state/format';
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

export interface BarChartOptions {
  /** Column of bar names (tokens, experts, layers…), shown with whitespace made visible. */
  category: string;
  value: string;
  orientation?: 'horizontal' | 'vertical';
  /** Order of bars (default `none`: table order). */
  sort?: 'none' | 'ascending' | 'descending';
  /** Value axis range (default: the data's extent and 0). */
  domain?: [number, number];
  /** d3-format specifier for values, e.g. `.1%` (default 4 significant digits). */
  format?: string;
  /** Value labels at the bar ends (default: when there are at most 30 bars). */
  labels?: boolean;
  color?: string;
  valueLabel?: string;
  title?: string;
  ariaLabel?: string;
  /** SVG size in CSS px (default width 560; height fits the bars). */
  width?: number;
  height?: number;
}

const KEYS = [
  'category',
  'value',
  'orientation',
  'sort',
  'domain',
  'format',
  'labels',
  'color',
  'valueLabel',
  'title',
  'ariaLabel',
  'width',
  'height',
];
const C = 'barChart';
const MAX_CHARS = 22;

/**
 * @example
 * cell.append(barChart(nextTokens, { category: 'token', value: 'p', sort: 'descending', format: '.1%' }));
 */
export function barChart(table: Table, opts: BarChartOptions): HTMLElement {
  checkKeys(C, opts, KEYS);
  const names = strings(C, table, requiredName(C, 'category', opts.category), 'category');
  const values = numbers(C, table, requiredName(C, 'value', opts.value), 'value');
  const horizontal =
    oneOf(C, 'orientation', opts.orientation ?? 'horizontal', ['horizontal', 'vertical'] as const) ===
    'horizontal';
  const sort = oneOf(C, 'sort', opts.sort ?? 'none', ['none', 'ascending', 'descending'] as const);
  let fmt: (v: number) => string = formatValue;
  if (opts.format !== undefined) {
    try {
      fmt = d3format(opts.format);
    } catch {
      throw new ChartOptionError(
        C,
        'format',
        `option "format" is not a d3-format specifier: "${opts.format}"`,
      );
    }
  }
  const bars = names.map((n, i) => ({
    key: `${i}`,
    name: clip(displayToken(n ?? '(none)')),
    full: n ?? '(none)',
    value: values[i]!,
  }));
  if (sort !== 'none') bars.sort((a, b) => (sort === 'ascending' ? a.value - b.value : b.value - a.value));
  if (!bars.length) throw new ChartOptionError(C, 'category', 'table has no rows');
  const valueLabel = opts.valueLabel ?? opts.value;
  const showLabels = opts.labels ?? bars.length <= 30;

  const longest = Math.max(...bars.map((b) => textWidth(b.name)));
  const width = positive(C, 'width', opts.width ?? 560);
  const height = positive(C, 'height', opts.height ?? (horizontal ? 48 + bars.length * 22 : 280));
  const rotate = !horizontal && longest + 6 > (width - 60) / bars.length;
  const labelRoom = showLabels ? 44 : 12;
  const m = horizontal
    ? { top: 6, right: labelRoom, bottom: 40, left: longest + 14 }
    : { top: showLabels ? 18 : 8, right: 12, bottom: 24 + (rotate ? longest + 4 : 0), left: 56 };
  const [pw, ph] = [width - m.left - m.right, height - m.top - m.bottom];
  const given = opts.domain ? interval(C, 'domain', opts.domain) : null;
  const [lo, hi] = extent([0, ...bars.map((b) => b.value).filter(Number.isFinite)]) as [number, number];
  const v = scaleLinear().domain(given ?? [lo, hi === lo ? 1 : hi]);
  if (!given) v.nice();
  // A negative bar's label sits left of its end: keep room for it inside the plot, off the category labels.
  const negRoom = horizontal && showLabels && bars.some((b) => b.value < 0) ? labelRoom : 0;
  v.range(horizontal ? [negRoom, pw] : [ph, 0]);
  const band = scaleBand<string>()
    .domain(bars.map((b) => b.key))
    .range(horizontal ? [0, ph] : [0, pw])
    .padding(0.2);

  const fig = chartFigure('bar-chart', opts.title);
  const label =
    opts.ariaLabel ??
    `${opts.title ? `${opts.title}: ` : ''}bar chart of ${valueLabel} for ${bars.length} ${opts.category} values`;
  const svg = svgRoot(width, height, label).attr('tabindex', 0);
  const plot = svg.append('g').attr('transform', `translate(${m.left},${m.top})`);
  const ticks = v.ticks(Math.max(2, Math.floor((horizontal ? pw : ph) / (horizontal ? 80 : 45))));
  gridLines(
    plot.append('g').attr('transform', horizontal ? `translate(0,${ph})` : ''),
    ticks.map(v),
    horizontal ? ph : pw,
    horizontal ? 'x' : 'y',
  );
  const name = new Map(bars.map((b) => [b.key, b.name]));
  const valueAxis = (horizontal ? axisBottom(v) : axisLeft(v)).tickValues(ticks).tickFormat((d) => fmt(+d));
  const catAxis = (horizontal ? axisLeft(band) : axisBottom(band))
    .tickSize(0)
    .tickPadding(6)
    .tickFormat((k) => name.get(k) ?? k);
  const color = opts.color ?? THEME.bar;
  const g = plot.append('g').attr('class', 'sb-bars').style('fill', color);
  const zero = v(0);
  for (const b of bars) {
    const at = band(b.key)!;
    const end = Number.isFinite(b.value) ? v(b.value) : zero;
    const [p0, p1] = [Math.min(zero, end), Math.max(zero, end)];
    const r = g.append('rect').attr('data-category', b.full);
    if (horizontal)
      r.attr('x', p0)
        .attr('width', p1 - p0)
        .attr('y', at)
        .attr('height', band.bandwidth());
    else
      r.attr('y', p0)
        .attr('height', p1 - p0)
        .attr('x', at)
        .attr('width', band.bandwidth());
  }
  if (showLabels) {
    const t = plot.append('g').attr('class', 'sb-values').style('fill', THEME.muted);
    for (const b of bars) {
      if (!Number.isFinite(b.value)) continue;
      const mid = band(b.key)! + band.bandwidth() / 2;
      const neg = b.value < 0;
      const text = t.append('text').text(fmt(b.value));
      if (horizontal)
        text
          .attr('x', v(b.value) + (neg ? -4 : 4))
          .attr('y', mid)
          .attr('dy', '0.32em')
          .attr('text-anchor', neg ? 'end' : 'start');
      else
        text
          .attr('x', mid)
          .attr('y', v(b.value) + (neg ? 12 : -4))
          .attr('text-anchor', 'middle');
    }
  }
  plot
    .append('g')
    .attr('transform', horizontal ? `translate(0,${ph})` : '')
    .call(valueAxis)
    .call(styleAxis);
  const cat = plot
    .append('g')
    .attr('class', 'sb-categories')
    .attr('transform', horizontal ? `translate(${Math.min(0, zero)},0)` : `translate(0,${ph})`);
  cat
    .call(catAxis)
    .call(styleAxis)
    .call((s) => s.select('.domain').remove());
  cat.selectAll('text').style('fill', THEME.text).style('font-family', THEME.mono);
  if (rotate)
    cat
      .selectAll('text')
      .attr('transform', 'rotate(-90)')
      .attr('text-anchor', 'end')
      .attr('x', -6)
      .attr('y', 0)
      .attr('dy', '0.32em');
  const title = axisTitle(plot, valueLabel).attr('text-anchor', 'middle');
  if (horizontal) title.attr('x', pw / 2).attr('y', ph + 34);
  else title.attr('transform', `translate(${14 - m.left},${ph / 2}) rotate(-90)`);

  const out = readout('Hover a bar or use ← → to read values.');
  const hits = bars.map((b) => {
    const r = plot.append('rect').attr('class', 'sb-hit').style('fill', 'transparent');
    const at = band(b.key)! - (band.step() * band.paddingInner()) / 2;
    if (horizontal) r.attr('x', 0).attr('width', pw).attr('y', at).attr('height', band.step());
    else r.attr('y', 0).attr('height', ph).attr('x', at).attr('width', band.step());
    return r.node()!;
  });
  indexHover(svg.node()!, hits, (i) => {
    g.selectAll('rect').style('fill', (_, j) => (i === null || i === j ? null : THEME.border));
    if (i === null) return out.set(null);
    const b = bars[i]!;
    out.set(`${displayToken(b.full)}: ${Number.isFinite(b.value) ? fmt(b.value) : '—'}`, {
      index: String(i),
    });
  });
  fig.append(svg.node()!, out.element);
  return fig;
}

function clip(s: string): string {
  const chars = [...s];
  return chars.length > MAX_CHARS ? `${chars.slice(0, MAX_CHARS - 1).join('')}…` : s;
}
