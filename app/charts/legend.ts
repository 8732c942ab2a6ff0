/**
 * Legends: a colour ramp with value ticks (heatmap, token strip) and a row of categorical swatches
 * (line series, heatmap overlay). HTML + a small SVG axis; the ramp is a CSS gradient, so no
 * document-unique ids are needed and snapshots stay stable.
 */
import { axisBottom, scaleLinear, select } from 'd3';
import type { ColorScale } from './color';
import { THEME, formatValue, html } from './theme';
import { styleAxis } from './axis';

/** Options for {@link colorLegend}. */
export interface ColorLegendOptions {
  /** Text before the ramp, e.g. "attention weight". */
  title?: string;
  /** Ramp width in CSS px (default 200). */
  width?: number;
  /** Approximate number of ticks (default 5). */
  ticks?: number;
}

/**
 * A horizontal colour ramp with ticks at values.
 *
 * @example fig.append(colorLegend(colorScale('heatmap', {}, data), { title: 'weight' }));
 */
export function colorLegend(scale: ColorScale, opts: ColorLegendOptions = {}): HTMLElement {
  const width = opts.width ?? 200;
  const root = html(
    'div',
    { class: 'sb-legend', role: 'img', 'aria-label': legendLabel(scale, opts.title) },
    { display: 'flex', 'align-items': 'flex-start', gap: '8px', 'margin-top': '6px', color: THEME.muted },
  );
  if (opts.title) {
    const t = html('span', {}, { 'font-size': '11px', 'line-height': '10px' });
    t.textContent = opts.title;
    root.append(t);
  }
  const stops = Array.from({ length: 11 }, (_, i) => `${scale.interpolate(i / 10)} ${i * 10}%`);
  const box = html('div', {}, { width: `${width}px` });
  const ramp = html(
    'div',
    { class: 'sb-legend-ramp' },
    {
      height: '10px',
      'border-radius': '2px',
      background: `linear-gradient(to right, ${stops.join(', ')})`,
    },
  );
  const x = scaleLinear()
    .domain(scale.domain)
    .range(scale.domain.length === 3 ? [0, width / 2, width] : [0, width]);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('width', width + 16)
    .attr('height', 18)
    .attr('aria-hidden', 'true')
    .style('display', 'block')
    .style('margin-left', '-8px')
    .style('overflow', 'visible');
  svg
    .append('g')
    .attr('transform', 'translate(8,0)')
    .call(
      axisBottom(x)
        .ticks(opts.ticks ?? Math.max(2, Math.floor(width / 50)))
        .tickSize(4)
        .tickFormat((d) => formatValue(+d)),
    )
    .call(styleAxis)
    .call((g) => g.select('.domain').remove());
  box.append(ramp, svg.node()!);
  root.append(box);
  return root;
}

function legendLabel(scale: ColorScale, title: string | undefined): string {
  const d = scale.domain.map(formatValue);
  const range = scale.kind === 'diverging' ? `${d[0]} to ${d[2]}, centred on ${d[1]}` : `${d[0]} to ${d[1]}`;
  return `${title ? `${title}: ` : ''}colour scale from ${range}`;
}

/** One categorical legend entry. */
export interface Swatch {
  label: string;
  color: string;
  /** `line` draws a short stroke, `box` (default) a filled square. */
  shape?: 'line' | 'box';
  dashed?: boolean;
}

/**
 * A wrapping row of labelled swatches (series, overlay classes).
 *
 * @example fig.append(swatches([{ label: 'dense', color: '#4e79a7', shape: 'line' }]));
 */
export function swatches(items: readonly Swatch[]): HTMLElement {
  const list = html(
    'ul',
    { class: 'sb-swatches', 'aria-label': 'Legend' },
    {
      display: 'flex',
      'flex-wrap': 'wrap',
      gap: '4px 14px',
      margin: '0 0 6px',
      padding: '0',
      'list-style': 'none',
    },
  );
  for (const s of items) {
    const li = html('li', {}, { display: 'inline-flex', 'align-items': 'center', gap: '5px' });
    const mark =
      s.shape === 'line'
        ? html(
            'span',
            {},
            { width: '16px', height: '0', 'border-top': `2px ${s.dashed ? 'dashed' : 'solid'} ${s.color}` },
          )
        : html('span', {}, { width: '11px', height: '11px', 'border-radius': '2px', background: s.color });
    const text = html('span', {});
    text.textContent = s.label;
    li.append(mark, text);
    list.append(li);
  }
  return list;
}
