/**
 * The heatmap's interactive canvas: layout, one-drawImage frames, axes that follow the view,
 * hover readout, wheel / drag / double-click / keyboard zoom and pan. Driven by a resolved
 * {@link HeatmapSpec}; the public API and option checks live in heatmap.ts.
 */
import { select, tickStep, type Selection } from 'd3';
import type { ColorScale } from './color';
import { colorLegend, swatches } from './legend';
import { axisTitle, styleAxis, textWidth } from './axis';
import { rasterize, rasterizeMask, toCanvas, type Matrix } from './heatmap-raster';
import { IDENTITY, cellAt, cellRect, clampView, visibleBlock, type Frame, type View } from './heatmap-view';
import { attachViewInput } from './heatmap-input';
import { THEME, formatValue, html, readout } from './theme';
import { displayToken } from '../state/format';

/** Everything the canvas needs, already validated. */
export interface HeatmapSpec {
  matrix: Matrix;
  scale: ColorScale;
  overlay: {
    mask: ArrayLike<number>;
    colors: [string | null, string | null];
    labels: [string, string];
  } | null;
  width: number;
  height: number;
  rowLabels: ArrayLike<string> | null;
  colLabels: ArrayLike<string> | null;
  rowTitle: string;
  colTitle: string;
  ariaLabel: string;
  legend: string | false;
  maxZoom: number;
  pixelRatio: number;
}

const SVG = 'http://www.w3.org/2000/svg';
const MAX_LABEL = 14;

/**
 * Build the plot inside `host` (a figure); returns the controller used by the public chart.
 *
 * @example const ctl = mountHeatmap(chartFigure('heatmap', title), spec); ctl.setView({ k: 2, x: -100, y: -100 });
 */
export function mountHeatmap(host: HTMLElement, first: HeatmapSpec) {
  let spec = first;
  let view: View = IDENTITY;
  let frame: Frame;
  let pending = 0;
  let pointer: { px: number; py: number } | null = null;
  const source = document.createElement('canvas');
  const overlay = document.createElement('canvas');
  const events = new AbortController();
  const out = readout(
    'Hover a cell to see its value. Wheel or +/− to zoom, drag or arrows to pan, double-click or 0 to reset.',
  );
  const plot = html('div', { class: 'sb-heatmap-plot' }, { position: 'relative' });
  const canvas = html(
    'canvas',
    { tabindex: '0', role: 'img' },
    { position: 'absolute', cursor: 'grab', 'touch-action': 'none' },
  );
  const svg = select(document.createElementNS(SVG, 'svg')).attr('aria-hidden', 'true');
  svg
    .style('position', 'absolute')
    .style('left', '0')
    .style('top', '0')
    .style('pointer-events', 'none')
    .style('overflow', 'visible');
  const xAxis = svg.append('g').attr('class', 'sb-axis-x');
  const yAxis = svg.append('g').attr('class', 'sb-axis-y');
  // Black inside white: visible on every colour of every scheme, in either theme.
  const hover = svg.append('g').attr('class', 'sb-hover').attr('display', 'none').style('fill', 'none');
  hover.append('rect').style('stroke', '#fff').style('stroke-width', '3');
  hover.append('rect').style('stroke', '#000').style('stroke-width', '1');
  const titles = svg.append('g');
  plot.append(canvas, svg.node()!);
  const legendRow = html(
    'div',
    { class: 'sb-heatmap-legend' },
    { display: 'flex', 'flex-wrap': 'wrap', gap: '4px 24px', 'align-items': 'flex-start' },
  );
  host.append(plot, out.element, legendRow);
  let m = { top: 6, right: 14, bottom: 0, left: 0 };

  function layout() {
    const { width: w, height: h, matrix, pixelRatio: dpr } = spec;
    frame = { w, h, nRows: matrix.nRows, nCols: matrix.nCols, maxK: spec.maxZoom };
    const rowText = spec.rowLabels ? longest(spec.rowLabels) : String(matrix.nRows - 1).length * 7;
    const colText = spec.colLabels ? longest(spec.colLabels) : 12;
    m = { top: 6, right: 14, bottom: colText + 26, left: rowText + 28 };
    plot.style.width = `${m.left + w + m.right}px`;
    plot.style.height = `${m.top + h + m.bottom}px`;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    Object.assign(canvas.style, {
      left: `${m.left}px`,
      top: `${m.top}px`,
      width: `${w}px`,
      height: `${h}px`,
      background: THEME.surface2,
    });
    canvas.setAttribute('aria-label', spec.ariaLabel);
    svg.attr('width', m.left + w + m.right).attr('height', m.top + h + m.bottom);
    titles.selectAll('*').remove();
    axisTitle(titles, spec.colTitle)
      .attr('text-anchor', 'middle')
      .attr('x', m.left + w / 2)
      .attr('y', m.top + h + m.bottom - 4);
    axisTitle(titles, spec.rowTitle)
      .attr('text-anchor', 'middle')
      .attr('transform', `translate(11,${m.top + h / 2}) rotate(-90)`);
    view = clampView(view, frame);
  }

  function rasterizeAll() {
    toCanvas(rasterize(spec.matrix, spec.scale), source);
    const o = spec.overlay;
    if (o) toCanvas(rasterizeMask(o.mask, spec.matrix.nRows, spec.matrix.nCols, o.colors), overlay);
    legendRow.replaceChildren();
    if (spec.legend !== false)
      legendRow.append(colorLegend(spec.scale, spec.legend ? { title: spec.legend } : {}));
    if (o) {
      const items = [0, 1]
        .filter((i) => o.colors[i])
        .map((i) => ({ label: o.labels[i]!, color: o.colors[i]! }));
      legendRow.append(swatches(items));
    }
  }

  function paint() {
    pending = 0;
    const ctx = canvas.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(spec.pixelRatio, 0, 0, spec.pixelRatio, 0, 0);
    ctx.imageSmoothingEnabled = false;
    const b = visibleBlock(view, frame);
    if (b.r1 > b.r0 && b.c1 > b.c0) {
      const args = [b.c0, b.r0, b.c1 - b.c0, b.r1 - b.r0, b.dest.x, b.dest.y, b.dest.w, b.dest.h] as const;
      ctx.drawImage(source, ...args);
      if (spec.overlay) ctx.drawImage(overlay, ...args);
    }
    drawAxes(b);
    showHover();
  }

  function drawAxes(b: ReturnType<typeof visibleBlock>) {
    const { w, h } = frame;
    const cw = (view.k * w) / frame.nCols;
    const ch = (view.k * h) / frame.nRows;
    const cols = ticks(b.c0, b.c1, Math.floor(w / (spec.colLabels ? 14 : 56)), spec.colLabels !== null);
    const rows = ticks(b.r0, b.r1, Math.floor(h / (spec.rowLabels ? 14 : 30)), spec.rowLabels !== null);
    const xs = cols.map((c) => ({ i: c, p: view.x + (c + 0.5) * cw })).filter((t) => t.p >= 0 && t.p <= w);
    const ys = rows.map((r) => ({ i: r, p: view.y + (r + 0.5) * ch })).filter((t) => t.p >= 0 && t.p <= h);
    xAxis.attr('transform', `translate(${m.left},${m.top + h})`);
    yAxis.attr('transform', `translate(${m.left},${m.top})`);
    tickMarks(xAxis, xs, spec.colLabels, 'x');
    tickMarks(yAxis, ys, spec.rowLabels, 'y');
  }

  function showHover() {
    const cell = pointer && cellAt(view, pointer.px, pointer.py, frame);
    if (!cell) {
      hover.attr('display', 'none');
      out.set(null);
      return;
    }
    const r = cellRect(view, cell.row, cell.col, cell.row + 1, cell.col + 1, frame);
    const pad = Math.max(0, (4 - r.w) / 2);
    const padY = Math.max(0, (4 - r.h) / 2);
    hover.attr('display', null);
    hover
      .selectAll('rect')
      .attr('x', m.left + r.x - pad)
      .attr('y', m.top + r.y - padY)
      .attr('width', r.w + 2 * pad)
      .attr('height', r.h + 2 * padY);
    const i = cell.row * frame.nCols + cell.col;
    const v = spec.matrix.data[i]!;
    const label = (labels: ArrayLike<string> | null, j: number) =>
      labels ? ` “${displayToken(labels[j] ?? '')}”` : '';
    const parts = [
      `${spec.rowTitle} ${cell.row}${label(spec.rowLabels, cell.row)}`,
      `${spec.colTitle} ${cell.col}${label(spec.colLabels, cell.col)}`,
      `value ${formatValue(v)}`,
    ];
    if (spec.overlay) parts.push(spec.overlay.labels[spec.overlay.mask[i] ? 1 : 0]!);
    out.set(parts.join(' · '), { row: String(cell.row), col: String(cell.col), value: String(v) });
  }

  function schedule() {
    if (!pending) pending = requestAnimationFrame(paint);
  }
  function moveTo(v: View, now = false) {
    view = clampView(v, frame);
    if (now) paint();
    else schedule();
  }
  attachViewInput(
    {
      el: canvas,
      frame: () => frame,
      view: () => view,
      moveTo,
      hover(p) {
        pointer = p;
        showHover();
      },
    },
    events.signal,
  );

  layout();
  rasterizeAll();
  paint();

  return {
    canvas,
    view: (): View => ({ ...view }),
    setView: (v: View) => moveTo(v, true),
    /** Swap data and options; the view survives when the matrix shape and plot size do. */
    setSpec(next: HeatmapSpec) {
      const same =
        next.matrix.nRows === spec.matrix.nRows &&
        next.matrix.nCols === spec.matrix.nCols &&
        next.width === spec.width &&
        next.height === spec.height;
      spec = next;
      if (!same) view = IDENTITY;
      layout();
      rasterizeAll();
      paint();
    },
    destroy() {
      events.abort();
      if (pending) cancelAnimationFrame(pending);
      source.width = source.height = overlay.width = overlay.height = 0;
      host.remove();
    },
  };
}

/** Cell indices to tick in [lo, hi): every cell when labelled ones fit, otherwise a round step. */
function ticks(lo: number, hi: number, max: number, labelled: boolean): number[] {
  const n = hi - lo;
  const step = labelled && n <= max ? 1 : Math.max(1, Math.ceil(tickStep(0, n, Math.max(1, max))));
  const out: number[] = [];
  for (let i = Math.ceil(lo / step) * step; i < hi; i += step) out.push(i);
  return out;
}

function longest(labels: ArrayLike<string>): number {
  let w = 0;
  for (let i = 0; i < labels.length; i++) w = Math.max(w, textWidth(clip(displayToken(labels[i] ?? ''))));
  return Math.min(w, 110);
}

function clip(s: string): string {
  return [...s].length > MAX_LABEL ? `${[...s].slice(0, MAX_LABEL - 1).join('')}…` : s;
}

/** Ticks for a view: d3-axis assumes a fixed scale, so the join is done here on cell indices. */
function tickMarks(
  g: Selection<SVGGElement, unknown, null, undefined>,
  ticks: { i: number; p: number }[],
  labels: ArrayLike<string> | null,
  axis: 'x' | 'y',
) {
  styleAxis(g);
  const t = g.selectAll<SVGGElement, { i: number; p: number }>('g.tick').data(ticks, (d) => d.i);
  t.exit().remove();
  const enter = t.enter().append('g').attr('class', 'tick');
  enter.append('line').style('stroke', 'currentColor');
  enter.append('text').style('fill', 'currentColor');
  const all = enter.merge(t);
  all.attr('transform', (d) => (axis === 'x' ? `translate(${d.p},0)` : `translate(0,${d.p})`));
  all.select('line').attr(axis === 'x' ? 'y2' : 'x2', axis === 'x' ? 5 : -5);
  const text = all.select('text').text((d) => (labels ? clip(displayToken(labels[d.i] ?? '')) : String(d.i)));
  if (axis === 'y') text.attr('x', -8).attr('dy', '0.32em').attr('text-anchor', 'end');
  else if (labels)
    text.attr('transform', 'rotate(-90)').attr('x', -8).attr('dy', '0.32em').attr('text-anchor', 'end');
  else text.attr('y', 8).attr('dy', '0.71em').attr('text-anchor', 'middle');
}
