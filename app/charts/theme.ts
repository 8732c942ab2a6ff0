/**
 * Theme tokens and the DOM frame shared by every chart. Colours are the CSS custom properties of
 * app/styles.css (so light and dark themes follow the page) with the light values as fallbacks,
 * so a chart still reads correctly when it is embedded in a page without those tokens.
 */
import { format as d3format } from 'd3';

/** CSS colour and font values; use them in `style`, never as SVG presentation attributes. */
export const THEME = {
  text: 'var(--text, #1c2330)',
  muted: 'var(--text-muted, #5d6778)',
  border: 'var(--border, #dde1e7)',
  surface: 'var(--surface, #ffffff)',
  surface2: 'var(--surface-2, #f0f2f5)',
  accent: 'var(--accent, #3056d3)',
  bar: 'var(--bar, #5b7be0)',
  danger: 'var(--danger, #b42318)',
  focus: 'var(--focus, #3056d3)',
  sans: 'var(--font-sans, system-ui, sans-serif)',
  mono: 'var(--font-mono, ui-monospace, monospace)',
} as const;

/** Series colours: Tableau 10, readable on both the light and the dark surface. */
export const SERIES_COLORS: readonly string[] = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

const g4 = d3format('.4~g');

/**
 * A value for a readout: 4 significant digits, `—` for missing.
 *
 * @example formatValue(0.000123456) // '0.0001235'; formatValue(-2) // '−2'
 */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '—' : v > 0 ? '∞' : '−∞';
  return g4(v === 0 ? 0 : v).replace('-', '−');
}

/** Set several inline styles at once (`null` removes one). */
function css(el: HTMLElement | SVGElement, styles: Record<string, string | number | null>): void {
  for (const [k, v] of Object.entries(styles)) {
    if (v === null) el.style.removeProperty(k);
    else el.style.setProperty(k, String(v));
  }
}

/**
 * `document.createElement` with attributes and inline styles.
 *
 * @example const note = html('p', { class: 'sb-note' }, { color: THEME.muted });
 */
export function html<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  styles: Record<string, string | number> = {},
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  css(el, styles);
  return el;
}

/**
 * The `<figure>` every chart returns: optional visible caption, theme font and colour.
 * The graphic inside carries the accessible name (role="img" + aria-label).
 *
 * @example const fig = chartFigure('histogram', opts.title); fig.append(svg.node()!);
 */
export function chartFigure(kind: string, title: string | undefined): HTMLElement {
  const fig = html(
    'figure',
    { class: `sb-chart sb-${kind}`, 'data-chart': kind },
    { margin: '0', color: THEME.text, 'font-family': THEME.sans, 'font-size': '12px', 'line-height': '1.4' },
  );
  setCaption(fig, title);
  return fig;
}

/**
 * Set, replace or remove a chart figure's visible caption.
 *
 * @example setCaption(fig, 'Layer 3 · head 1');
 */
export function setCaption(fig: HTMLElement, title: string | undefined): void {
  let cap = fig.querySelector(':scope > figcaption');
  if (!title) return cap?.remove();
  if (!cap) {
    cap = html('figcaption', {}, { 'font-weight': '600', 'font-size': '13px', margin: '0 0 6px' });
    fig.prepend(cap);
  }
  cap.textContent = title;
}

/** A live readout line (hover / focus details); `set(null)` shows the hint again. */
export interface Readout {
  element: HTMLElement;
  set(text: string | null, data?: Record<string, string>): void;
}

/**
 * A polite live region under a chart that says what the pointer or focus is on.
 *
 * @example const r = readout('Hover a bar to see its value.'); r.set('layer 3: 0.41');
 */
export function readout(hint: string): Readout {
  const p = html(
    'p',
    { class: 'sb-readout', 'aria-live': 'polite' },
    { margin: '6px 0 0', 'min-height': '1.4em', 'font-variant-numeric': 'tabular-nums', color: THEME.muted },
  );
  p.textContent = hint;
  return {
    element: p,
    set(text, data = {}) {
      for (const k of Object.keys(p.dataset)) delete p.dataset[k];
      Object.assign(p.dataset, text === null ? {} : data);
      p.textContent = text ?? hint;
      p.style.color = text === null ? THEME.muted : THEME.text;
    },
  };
}
