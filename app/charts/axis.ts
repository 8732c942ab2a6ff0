/**
 * Axis helpers: theme styling for d3-axis output, and margins estimated from label lengths
 * (charts are built detached from the page, so text cannot be measured).
 */
import { select, type Selection } from 'd3';

type Sel<E extends Element> = Selection<E, unknown, null, undefined>;
import { THEME } from './theme';

/**
 * Approximate width of a label at 11px in the UI font, in CSS px.
 *
 * @example const left = 14 + textWidth('·outside');
 */
export function textWidth(s: string, px = 11): number {
  return Math.ceil([...s].length * px * 0.58);
}

/**
 * Restyle a d3 axis group: muted ink through `color` (d3-axis draws in currentColor), theme font.
 *
 * @example svg.append('g').call(axisLeft(y)).call(styleAxis);
 */
export function styleAxis(g: Sel<SVGGElement>): void {
  g.attr('font-size', null)
    .attr('font-family', null)
    .style('color', THEME.muted)
    .style('font-family', THEME.sans)
    .style('font-size', '11px');
  g.select('.domain').style('color', THEME.border);
}

/**
 * An axis title (SVG text) in muted ink.
 *
 * @example axisTitle(plot, 'loss').attr('x', pw / 2).attr('y', ph + 34);
 */
export function axisTitle(parent: Sel<SVGGElement | SVGSVGElement>, text: string) {
  return parent
    .append('text')
    .attr('class', 'sb-axis-title')
    .text(text)
    .style('fill', THEME.muted)
    .style('font-size', '11px')
    .style('font-family', THEME.sans);
}

/**
 * The root `<svg>` of an SVG chart: fixed size, accessible name, theme font.
 *
 * @example const svg = svgRoot(560, 320, 'Line chart of loss against step');
 */
export function svgRoot(width: number, height: number, label: string) {
  return (
    select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
      .attr('xmlns', 'http://www.w3.org/2000/svg')
      .attr('width', width)
      .attr('height', height)
      .attr('viewBox', `0 0 ${width} ${height}`)
      .attr('role', 'img')
      .attr('aria-label', label)
      .style('display', 'block')
      // Narrower containers (an embed in a column) scale the chart down instead of overflowing.
      .style('max-width', '100%')
      .style('height', 'auto')
      .style('overflow', 'visible')
      .style('font-family', THEME.sans)
      .style('font-size', '11px')
  );
}

/**
 * Horizontal or vertical grid lines behind the marks, at the given pixel positions.
 *
 * @example gridLines(plot.append('g'), y.ticks().map(y), pw, 'y');
 */
export function gridLines(g: Sel<SVGGElement>, positions: number[], length: number, axis: 'x' | 'y') {
  g.attr('class', 'sb-grid')
    .style('stroke', THEME.border)
    .style('stroke-width', '1')
    .selectAll('line')
    .data(positions)
    .join('line')
    .attr(axis === 'y' ? 'x2' : 'y2', axis === 'y' ? length : -length)
    .attr(axis === 'y' ? 'y1' : 'x1', (d) => d)
    .attr(axis === 'y' ? 'y2' : 'x2', (d) => d);
}

/**
 * Keep a label readable over lines and bars: a stroke of the surface colour painted under the text.
 *
 * @example g.append('text').text('dense').call(halo);
 */
export function halo(text: Sel<SVGTextElement>): void {
  text
    .style('paint-order', 'stroke')
    .style('stroke', THEME.surface)
    .style('stroke-width', '3px')
    .style('stroke-linejoin', 'round');
}
