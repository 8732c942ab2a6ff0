/**
 * Histogram (SVG) of a value column, binned here with d3.bin, or of pre-binned columns
 * (x0, x1, count) as analyses emit for very large tensors. Optional log count axis (heavy-tailed
 * activations and weights) and a vertical reference line (e.g. a pruning threshold).
 */
import type { Table } from 'apache-arrow';
import { axisBottom, axisLeft, bin, extent, max, scaleLinear, scaleLog } from 'd3';
import { axisTitle, gridLines, halo, styleAxis, svgRoot, textWidth } from './axis';
import { indexHover } from './hover';
import { THEME, chartFigure, formatValue, readout } from './theme';
import { ChartOptionError, checkKeys, interval, numbers, positive } from './validate';

export interface HistogramOptions {
  /** Raw values to bin… */
  value?: string;
  /** …into about this many bins (default 30; d3 picks round thresholds). */
  bins?: number;
  /** Or pre-binned columns: bin edges and counts. */
  x0?: string;
  x1?: string;
  count?: string;
  /** Value range to bin and show (default: the data's extent). */
  domain?: [number, number];
  /** Log-scaled counts (empty bins are left blank). */
  logCount?: boolean;
  /** Bar colour (default the theme's `--bar`). */
  color?: string;
  /** A vertical line at `x` with an optional label. */
  reference?: { x: number; label?: string } | null;
  xLabel?: string;
  yLabel?: string;
  title?: string;
  ariaLabel?: string;
  /** SVG size in CSS px (default 560 × 240). */
  width?: number;
  height?: number;
}

const KEYS = [
  'value',
  'bins',
  'x0',
  'x1',
  'count',
  'domain',
  'logCount',
  'color',
  'reference',
  'xLabel',
  'yLabel',
  'title',
  'ariaLabel',
  'width',
  'height',
];
const C = 'histogram';

interface Bin {
  x0: number;
  x1: number;
  count: number;
}

/**
 * @example
 * cell.append(histogram(acts, { value: 'activation', bins: 60, logCount: true }));
 * cell.append(histogram(binned, { x0: 'lo', x1: 'hi', count: 'n' }));
 */
export function histogram(table: Table, opts: HistogramOptions): HTMLElement {
  checkKeys(C, opts, KEYS);
  const bins = readBins(table, opts);
  const width = positive(C, 'width', opts.width ?? 560);
  const height = positive(C, 'height', opts.height ?? 240);
  const log = opts.logCount ?? false;
  const xLabel = opts.xLabel ?? opts.value ?? opts.x0 ?? 'value';
  const yLabel = opts.yLabel ?? (log ? 'count (log)' : 'count');
  const total = bins.reduce((a, b) => a + b.count, 0);
  const top = max(bins, (b) => b.count) ?? 1;

  const x = scaleLinear().domain(opts.domain ?? [bins[0]!.x0, bins.at(-1)!.x1]);
  const y = log
    ? scaleLog().domain([0.5, Math.max(1, top) * 1.15])
    : scaleLinear()
        .domain([0, top || 1])
        .nice();
  const yTicks = log ? powersOfTen(Math.max(1, top)) : y.ticks(Math.max(2, Math.floor(height / 45)));
  const yFormat = log ? (v: number) => formatValue(v) : y.tickFormat(5, '~s');
  const m = {
    top: 10,
    right: 16,
    bottom: 40,
    left: 22 + Math.max(...yTicks.map((t) => textWidth(yFormat(t)))),
  };
  const [pw, ph] = [width - m.left - m.right, height - m.top - m.bottom];
  x.range([0, pw]);
  y.range([ph, 0]);

  const fig = chartFigure('histogram', opts.title);
  const label =
    opts.ariaLabel ??
    `${opts.title ? `${opts.title}: ` : ''}histogram of ${xLabel}, ${formatValue(total)} values in ${bins.length} bins from ${formatValue(bins[0]!.x0)} to ${formatValue(bins.at(-1)!.x1)}${log ? ', log count' : ''}`;
  const svg = svgRoot(width, height, label).attr('tabindex', 0);
  const plot = svg.append('g').attr('transform', `translate(${m.left},${m.top})`);
  gridLines(
    plot.append('g'),
    yTicks.map((t) => y(t)),
    pw,
    'y',
  );
  const base = y(log ? 0.5 : 0);
  const bars = plot
    .append('g')
    .attr('class', 'sb-bars')
    .style('fill', opts.color ?? THEME.bar);
  for (const b of bins) {
    if (!(b.count > 0)) continue;
    bars
      .append('rect')
      .attr('x', x(b.x0) + 0.5)
      .attr('width', Math.max(0.5, x(b.x1) - x(b.x0) - 1))
      .attr('y', y(b.count))
      .attr('height', base - y(b.count));
  }
  plot
    .append('g')
    .attr('transform', `translate(0,${ph})`)
    .call(axisBottom(x).ticks(Math.max(2, Math.floor(pw / 80)), '~g'))
    .call(styleAxis);
  plot
    .append('g')
    .call(
      axisLeft(y)
        .tickValues(yTicks)
        .tickFormat((v) => yFormat(+v)),
    )
    .call(styleAxis);
  axisTitle(plot, xLabel)
    .attr('x', pw / 2)
    .attr('y', ph + 34)
    .attr('text-anchor', 'middle');
  axisTitle(plot, yLabel)
    .attr('transform', `translate(${14 - m.left},${ph / 2}) rotate(-90)`)
    .attr('text-anchor', 'middle');
  const ref = opts.reference;
  if (ref) {
    const g = plot
      .append('g')
      .attr('class', 'sb-reference')
      .attr('transform', `translate(${x(ref.x)},0)`);
    g.append('line').attr('y2', ph).style('stroke', THEME.text).style('stroke-dasharray', '4 3');
    if (ref.label)
      g.append('text').attr('x', 4).attr('y', 10).text(ref.label).style('fill', THEME.text).call(halo);
  }

  const highlight = plot
    .append('rect')
    .attr('class', 'sb-hover')
    .attr('display', 'none')
    .style('fill', THEME.text)
    .style('fill-opacity', '0.08');
  const hits = bins.map((b) =>
    plot
      .append('rect')
      .attr('class', 'sb-hit')
      .attr('x', x(b.x0))
      .attr('width', Math.max(1, x(b.x1) - x(b.x0)))
      .attr('height', ph)
      .style('fill', 'transparent')
      .node()!,
  );
  const out = readout('Hover a bin or use ← → to read counts.');
  indexHover(svg.node()!, hits, (i) => {
    const b = i === null ? null : bins[i]!;
    highlight.attr('display', b ? null : 'none');
    if (!b) return out.set(null);
    highlight
      .attr('x', x(b.x0))
      .attr('width', Math.max(1, x(b.x1) - x(b.x0)))
      .attr('height', ph);
    const pct = total ? ` (${((100 * b.count) / total).toFixed(1)}%)` : '';
    out.set(`${xLabel} ${formatValue(b.x0)} to ${formatValue(b.x1)}: ${formatValue(b.count)}${pct}`, {
      bin: String(i),
    });
  });
  fig.append(svg.node()!, out.element);
  return fig;
}

function readBins(table: Table, o: HistogramOptions): Bin[] {
  const pre = o.x0 !== undefined || o.x1 !== undefined || o.count !== undefined;
  if (pre === (o.value !== undefined)) {
    throw new ChartOptionError(
      C,
      'value',
      'give either "value" (raw values) or "x0", "x1" and "count" (pre-binned), not both',
    );
  }
  if (pre) {
    if (!o.x0 || !o.x1 || !o.count)
      throw new ChartOptionError(C, 'count', 'pre-binned input needs all of "x0", "x1" and "count"');
    const [a, b, n] = [
      numbers(C, table, o.x0, 'x0'),
      numbers(C, table, o.x1, 'x1'),
      numbers(C, table, o.count, 'count'),
    ];
    const out = Array.from(a, (x0, i) => ({ x0, x1: b[i]!, count: n[i]! })).filter((d) => d.x1 > d.x0);
    if (!out.length) throw new ChartOptionError(C, 'x0', 'no bins with x1 > x0');
    return out.sort((p, q) => p.x0 - q.x0);
  }
  const values = numbers(C, table, o.value!, 'value').filter(Number.isFinite);
  const domain = o.domain ? interval(C, 'domain', o.domain) : (extent(values) as [number, number]);
  if (domain[0] === undefined)
    throw new ChartOptionError(C, 'value', `column "${o.value}" has no finite values`);
  if (domain[0] === domain[1]) domain[1] = domain[0] + 1;
  const binned = bin()
    .domain(domain)
    .thresholds(positive(C, 'bins', o.bins ?? 30, true))(values);
  return binned.map((b) => ({ x0: b.x0!, x1: b.x1!, count: b.length }));
}

function powersOfTen(top: number): number[] {
  const out = [1];
  while (out.at(-1)! * 10 <= top * 1.15) out.push(out.at(-1)! * 10);
  return out;
}
