/**
 * Hover for the line chart: the pointer (or ←/→ when the chart has focus) picks the nearest x;
 * a vertical rule and a dot per series mark it, and the readout lists every series there.
 */
import { bisectCenter, pointer, type Selection } from 'd3';
import { THEME, formatValue, type Readout } from './theme';

/** One drawn series, sorted by x. */
export interface LineSeries {
  name: string;
  color: string;
  xs: number[];
  ys: number[];
}

/**
 * Wire hover and keyboard reading onto the plot group `plot` (pw × ph CSS px).
 *
 * @example attachLineHover(plot, x, y, pw, ph, series, 'step', readout('Hover to read values.'));
 */
export function attachLineHover(
  plot: Selection<SVGGElement, unknown, null, undefined>,
  x: (v: number) => number,
  y: (v: number) => number,
  pw: number,
  ph: number,
  series: LineSeries[],
  xLabel: string,
  out: Readout,
) {
  const unique = [...new Set(series.flatMap((s) => s.xs))].sort((a, b) => a - b);
  const px = unique.map(x);
  const hover = plot
    .append('g')
    .attr('class', 'sb-hover')
    .attr('display', 'none')
    .style('pointer-events', 'none');
  const rule = hover.append('line').attr('y2', ph).style('stroke', THEME.muted);
  const dots = series.map((s) =>
    hover
      .append('circle')
      .attr('r', 4)
      .style('fill', s.color)
      .style('stroke', THEME.surface)
      .style('stroke-width', '1.5'),
  );
  let at = -1;
  const show = (i: number) => {
    at = i;
    const xv = unique[i]!;
    hover.attr('display', null);
    rule.attr('x1', px[i]!).attr('x2', px[i]!);
    const parts = [`${xLabel} ${formatValue(xv)}`];
    series.forEach((s, k) => {
      const j = s.xs.indexOf(xv);
      dots[k]!.attr('display', j < 0 ? 'none' : null)
        .attr('cx', px[i]!)
        .attr('cy', j < 0 ? 0 : y(s.ys[j]!));
      if (j >= 0) parts.push(`${s.name} ${formatValue(s.ys[j]!)}`);
    });
    out.set(parts.join(' · '), { x: String(xv) });
  };
  const hide = () => {
    at = -1;
    hover.attr('display', 'none');
    out.set(null);
  };
  plot
    .append('rect')
    .attr('class', 'sb-hit')
    .attr('width', pw)
    .attr('height', ph)
    .style('fill', 'transparent')
    .on('pointermove', (e: PointerEvent) => show(bisectCenter(px, pointer(e, plot.node())[0])))
    .on('pointerleave', hide);
  const svg = (plot.node() as SVGGElement).ownerSVGElement!;
  svg.addEventListener('keydown', (e: KeyboardEvent) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (e.key === 'Escape') return hide();
    if (!step) return;
    e.preventDefault();
    show(Math.min(unique.length - 1, Math.max(0, at < 0 ? (step > 0 ? 0 : unique.length - 1) : at + step)));
  });
  svg.addEventListener('blur', hide);
}
