/**
 * Token strip: a text's tokens as chips coloured by a per-token value (loss, activation, attention
 * from a chosen query…), sequential or diverging. Whitespace is made visible (`·`, `↵`, `⇥`, the
 * app-wide rule of displayToken); a newline token also breaks the line, and long strips wrap.
 * Hover or focus (one tab stop, then ←/→/Home/End) shows the token and its value.
 */
import type { Table } from 'apache-arrow';
import { format as d3format } from 'd3';
import { colorScale, type ColorOptions } from './color';
import { colorLegend } from './legend';
import { THEME, chartFigure, formatValue, html, readout } from './theme';
import { displayToken } from '../state/format';
import { ChartOptionError, checkKeys, numbers, requiredName, strings } from './validate';

export interface TokenStripOptions extends ColorOptions {
  /** Column of token strings (as decoded, with their spaces). */
  token: string;
  /** Column of values; null / NaN leaves a token uncoloured (e.g. BOS has no loss). */
  value: string;
  title?: string;
  ariaLabel?: string;
  /** Colour legend: true (default), false, or its title. */
  legend?: boolean | string;
  /** d3-format specifier for values in the readout (default 4 significant digits). */
  format?: string;
  /** Clicking a token (or Enter on it) picks it: e.g. the query token of a model view. */
  onPick?: (index: number) => void;
  /** Index of the picked token, outlined until another is picked. */
  picked?: number;
}

const KEYS = [
  'token',
  'value',
  'title',
  'ariaLabel',
  'legend',
  'format',
  'onPick',
  'picked',
  'scale',
  'scheme',
  'domain',
  'center',
];
const C = 'tokenStrip';

/**
 * @example
 * cell.append(tokenStrip(losses, { token: 'token', value: 'loss', domain: [0, 6], legend: 'loss (nats)' }));
 */
export function tokenStrip(table: Table, opts: TokenStripOptions): HTMLElement {
  checkKeys(C, opts, KEYS);
  const tokens = strings(C, table, requiredName(C, 'token', opts.token), 'token');
  const values = numbers(C, table, requiredName(C, 'value', opts.value), 'value');
  const scheme = opts.scheme ?? (opts.scale === 'diverging' ? 'burd' : 'ylorrd');
  const scale = colorScale(C, { ...opts, scheme }, values);
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
  const show = (v: number) => (Number.isNaN(v) ? 'no value' : fmt(v));

  const fig = chartFigure('token-strip', opts.title);
  const list = html(
    'ol',
    {
      class: 'sb-tokens',
      'aria-label':
        opts.ariaLabel ??
        `${opts.title ? `${opts.title}: ` : ''}${tokens.length} tokens coloured by ${opts.value}`,
    },
    {
      display: 'flex',
      'flex-wrap': 'wrap',
      gap: '3px 2px',
      margin: '0',
      padding: '0',
      'list-style': 'none',
      'line-height': '1.25',
    },
  );
  const chips: HTMLElement[] = [];
  tokens.forEach((t, i) => {
    const v = values[i]!;
    const text = displayToken(t ?? '');
    const missing = Number.isNaN(v);
    const chip = html(
      'span',
      {
        class: 'sb-token',
        role: 'img',
        tabindex: i === 0 ? '0' : '-1',
        'data-index': String(i),
        'aria-label': `token “${text}”, ${opts.value} ${show(v)}`,
      },
      {
        display: 'inline-block',
        padding: '2px 4px',
        'border-radius': '3px',
        'font-family': THEME.mono,
        'font-size': '13px',
        'white-space': 'pre',
        background: missing ? 'transparent' : scale.color(v),
        color: missing ? THEME.muted : scale.ink(v),
        border: `1px ${missing ? 'dashed' : 'solid'} ${missing ? THEME.border : 'transparent'}`,
        cursor: opts.onPick ? 'pointer' : 'default',
        'box-shadow': i === opts.picked ? `0 0 0 2px ${THEME.accent}` : 'none',
      },
    );
    if (i === opts.picked) chip.setAttribute('aria-current', 'true');
    chip.textContent = text;
    chips.push(chip);
    const li = html('li', {}, { display: 'contents' });
    li.append(chip);
    list.append(li);
    if (t?.includes('\n'))
      list.append(html('li', { 'aria-hidden': 'true' }, { 'flex-basis': '100%', height: '0' }));
  });

  const out = readout('Hover or focus a token to see its value.');
  const select = (i: number | null) => {
    chips.forEach((c, j) => (c.style.outline = j === i ? `2px solid ${THEME.focus}` : ''));
    if (i === null) return out.set(null);
    out.set(`“${displayToken(tokens[i] ?? '')}” (position ${i}): ${opts.value} ${show(values[i]!)}`, {
      index: String(i),
    });
  };
  const indexOf = (e: Event) => {
    const el = (e.target as Element).closest<HTMLElement>('.sb-token');
    return el ? Number(el.dataset.index) : null;
  };
  list.addEventListener('pointerover', (e) => select(indexOf(e)));
  list.addEventListener('pointerleave', () => select(null));
  list.addEventListener('focusin', (e) => select(indexOf(e)));
  list.addEventListener('focusout', () => select(null));
  if (opts.onPick) {
    const pick = opts.onPick;
    list.addEventListener('click', (e) => {
      const i = indexOf(e);
      if (i !== null) pick(i);
    });
  }
  list.addEventListener('keydown', (e) => {
    const i = indexOf(e);
    if (i === null) return;
    if (e.key === 'Enter' && opts.onPick) {
      e.preventDefault();
      opts.onPick(i);
      return;
    }
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: chips.length - 1 }[e.key];
    if (next === undefined || !chips[next]) return;
    e.preventDefault();
    chips[i]!.tabIndex = -1;
    chips[next].tabIndex = 0;
    chips[next].focus();
  });
  fig.append(list, out.element);
  if (opts.legend !== false)
    fig.append(
      colorLegend(scale, typeof opts.legend === 'string' ? { title: opts.legend } : { title: opts.value }),
    );
  return fig;
}
