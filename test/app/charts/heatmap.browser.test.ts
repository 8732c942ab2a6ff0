/**
 * Heatmap in real Chromium: markup and pixel snapshots on seeded fixtures, pixel colours checked
 * against the colour scale, hover readout, wheel / drag / keyboard / double-click view changes,
 * update() in place, option errors, and screenshots of both themes for people to look at.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { heatmap, heatmapFromMatrix } from '../../../app/charts/heatmap';
import { colorScale } from '../../../app/charts/color';
import { attentionPattern, longForm, magnitudeMask, TOKENS, weights } from './fixtures';
import { clearPage, mount, nextFrame, pixelHash, pointAt, pretty, shoot, signature } from './helpers';

const N = 64;
const tokens = TOKENS.slice(0, N);
const attention = attentionPattern(N);
const base = { width: 256, height: 256, pixelRatio: 1, rowTitle: 'query', colTitle: 'key' } as const;

function canvasOf(el: HTMLElement): HTMLCanvasElement {
  return el.querySelector('canvas')!;
}
function rgbAt(c: HTMLCanvasElement, x: number, y: number): string {
  const [r, g, b] = c.getContext('2d')!.getImageData(x, y, 1, 1).data;
  return `rgb(${r} ${g} ${b})`;
}

afterEach(clearPage);

describe('heatmap', () => {
  it('matches the markup and pixel snapshots of a 64×64 attention map', async () => {
    const chart = heatmapFromMatrix(attention, N, N, {
      ...base,
      title: 'Layer 0 head 3',
      rowLabels: tokens,
      colLabels: tokens,
    });
    mount(chart.element);
    await expect(pretty(chart.element)).toMatchFileSnapshot('./__snapshots__/heatmap-attention.snap');
    const c = canvasOf(chart.element);
    const pixels = [
      `hash ${pixelHash(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data)}`,
      ...signature(c),
    ];
    await expect(pixels.join('\n') + '\n').toMatchFileSnapshot(
      './__snapshots__/heatmap-attention-pixels.snap',
    );
  });

  it('paints each cell in its scale colour (4 px cells at k = 1)', () => {
    const chart = heatmapFromMatrix(attention, N, N, base);
    mount(chart.element);
    const scale = colorScale('heatmap', {}, attention);
    const c = canvasOf(chart.element);
    for (const [r, k] of [
      [0, 0],
      [10, 3],
      [63, 63],
      [40, 12],
      [5, 60],
    ] as const) {
      expect(rgbAt(c, k * 4 + 2, r * 4 + 2), `cell ${r},${k}`).toBe(scale.color(attention[r * N + k]!));
    }
  });

  it('reads out the hovered cell with its tokens and value', () => {
    const chart = heatmapFromMatrix(attention, N, N, { ...base, rowLabels: tokens, colLabels: tokens });
    mount(chart.element);
    pointAt(canvasOf(chart.element), 'pointermove', 3 * 4 + 1, 10 * 4 + 2);
    const out = chart.element.querySelector<HTMLElement>('.sb-readout')!;
    expect(out.dataset).toMatchObject({ row: '10', col: '3' });
    expect(Number(out.dataset.value)).toBeCloseTo(attention[10 * N + 3]!, 6);
    expect(out.textContent).toBe(
      `query 10 “·girl” · key 3 “·a” · value ${attention[10 * N + 3]!.toPrecision(4).replace(/0+$/, '')}`,
    );
    pointAt(canvasOf(chart.element), 'pointerleave', 0, 0);
    expect(out.textContent).toMatch(/^Hover a cell/);
  });

  it('zooms around the cursor with the wheel and keeps that cell under it', async () => {
    const chart = heatmapFromMatrix(attention, N, N, base);
    mount(chart.element);
    const c = canvasOf(chart.element);
    const before = rgbAt(c, 101, 61);
    pointAt(c, 'wheel', 101, 61, { deltaY: -500 } as WheelEventInit);
    expect(chart.view()).toEqual({ k: 2, x: -101, y: -61 });
    await nextFrame();
    expect(rgbAt(c, 101, 61)).toBe(before);
    // a cell is now 8 px: (row 15, col 25) sits at 8·25 − 101 + 4 = 103, 8·15 − 61 + 4 = 63
    expect(rgbAt(c, 103, 63)).toBe(colorScale('heatmap', {}, attention).color(attention[15 * N + 25]!));
    pointAt(c, 'wheel', 0, 0, { deltaY: 5000 } as WheelEventInit);
    expect(chart.view()).toEqual({ k: 1, x: 0, y: 0 });
  });

  it('pans by dragging, clamps to the matrix, and resets on double-click', () => {
    const chart = heatmapFromMatrix(attention, N, N, base);
    mount(chart.element);
    const c = canvasOf(chart.element);
    chart.setView({ k: 4, x: -300, y: -300 });
    pointAt(c, 'pointerdown', 100, 100);
    pointAt(c, 'pointermove', 80, 130);
    pointAt(c, 'pointerup', 80, 130);
    expect(chart.view()).toEqual({ k: 4, x: -320, y: -270 });
    pointAt(c, 'pointermove', 200, 200); // no button: hover only
    expect(chart.view()).toEqual({ k: 4, x: -320, y: -270 });
    chart.setView({ k: 4, x: 50, y: -5000 });
    expect(chart.view()).toEqual({ k: 4, x: 0, y: -768 });
    pointAt(c, 'dblclick', 10, 10);
    expect(chart.view()).toEqual({ k: 1, x: 0, y: 0 });
  });

  it('zooms and pans from the keyboard', () => {
    const chart = heatmapFromMatrix(attention, N, N, base);
    mount(chart.element);
    const c = canvasOf(chart.element);
    c.focus();
    const key = (k: string) =>
      c.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));
    key('+');
    expect(chart.view()).toEqual({ k: 1.5, x: -64, y: -64 });
    key('ArrowRight');
    expect(chart.view()).toEqual({ k: 1.5, x: -96, y: -64 });
    key('ArrowUp');
    expect(chart.view()).toEqual({ k: 1.5, x: -96, y: -32 });
    key('-');
    expect(chart.view().k).toBe(1);
    key('+');
    key('0');
    expect(chart.view()).toEqual({ k: 1, x: 0, y: 0 });
  });

  it('update() swaps the data in place, keeping the view when the shape stays', () => {
    const chart = heatmapFromMatrix(attention, N, N, base);
    const el = chart.element;
    mount(el);
    const c = canvasOf(el);
    const hash = () => pixelHash(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
    const first = hash();
    chart.setView({ k: 2, x: -10, y: -20 });
    chart.update({ data: attentionPattern(N, 0.77) });
    expect(chart.element).toBe(el);
    expect(canvasOf(el)).toBe(c);
    expect(chart.view()).toEqual({ k: 2, x: -10, y: -20 });
    chart.setView({ k: 1, x: 0, y: 0 });
    expect(hash()).not.toBe(first);
    chart.update({ data: attention });
    expect(hash()).toBe(first);
    chart.update({ data: attentionPattern(32), nRows: 32, nCols: 32 });
    expect(chart.view()).toEqual({ k: 1, x: 0, y: 0 });
    chart.destroy();
    expect(el.isConnected).toBe(false);
  });

  it('draws a long-form table exactly like the same dense matrix', () => {
    const a = heatmapFromMatrix(attention, N, N, base);
    const b = heatmap(longForm(attention, N, N), { ...base, rows: 'row', cols: 'col', value: 'value' });
    mount(a.element);
    mount(b.element);
    const data = (el: HTMLElement) => canvasOf(el).getContext('2d')!.getImageData(0, 0, 256, 256).data;
    expect(pixelHash(data(b.element))).toBe(pixelHash(data(a.element)));
  });

  it('update() of a table heatmap takes a new table and a new title', () => {
    const chart = heatmap(longForm(attention, N, N), {
      ...base,
      rows: 'row',
      cols: 'col',
      value: 'value',
      title: 'head 0',
    });
    mount(chart.element);
    const c = canvasOf(chart.element);
    const before = pixelHash(c.getContext('2d')!.getImageData(0, 0, 256, 256).data);
    chart.update({ table: longForm(attentionPattern(N, 0.3), N, N), title: 'head 1' });
    expect(chart.element.querySelector('figcaption')!.textContent).toBe('head 1');
    expect(c.getAttribute('aria-label')).toMatch(/^head 1: heatmap of 64 × 64 cells/);
    expect(pixelHash(c.getContext('2d')!.getImageData(0, 0, 256, 256).data)).not.toBe(before);
    expect(() => chart.update({ value: 'nope' })).toThrow(
      'heatmap: column "nope" not in table (columns: row, col, value)',
    );
  });

  it('draws a 2048×2048 mask overlay, diverging around 0, and zooms to single cells', async () => {
    const n = 2048;
    const w = weights(n, n);
    const mask = magnitudeMask(w, 0.5);
    const t0 = performance.now();
    const chart = heatmapFromMatrix(w, n, n, {
      width: 512,
      height: 512,
      pixelRatio: 1,
      scale: 'diverging',
      overlay: { mask, labels: ['pruned', 'kept'] },
    });
    mount(chart.element, 'light', 620);
    console.log(`2048² heatmap built in ${(performance.now() - t0).toFixed(0)} ms`);
    const c = canvasOf(chart.element);
    chart.setView({ k: 128, x: -128 * 256, y: -128 * 256 }); // 32 px per cell; top-left cell is (1024, 1024)
    const scale = colorScale('heatmap', { scale: 'diverging' }, w);
    const i = 1024 * n + 1024;
    const [r, g, b] = c.getContext('2d')!.getImageData(16, 16, 1, 1).data;
    if (mask[i]) expect(`rgb(${r} ${g} ${b})`).toBe(scale.color(w[i]!));
    else expect(`rgb(${r} ${g} ${b})`).not.toBe(scale.color(w[i]!));
    pointAt(c, 'pointermove', 16 + 32, 16);
    expect(chart.element.querySelector('.sb-readout')!.textContent).toContain(`row 1024 · col 1025 · value`);
    expect(chart.element.querySelector('.sb-readout')!.textContent).toMatch(
      mask[i + 1] ? /kept$/ : /pruned$/,
    );
    await nextFrame();
  });

  it('names bad options clearly', () => {
    const t = longForm(attention, N, N);
    expect(() => heatmap(t, { rows: 'row', cols: 'foo', value: 'value' })).toThrow(
      'heatmap: column "foo" not in table (columns: row, col, value)',
    );
    expect(() =>
      heatmap(t, { rows: 'row', cols: 'col', value: 'value', scheme: 'jet' as 'viridis' }),
    ).toThrow('heatmap: scheme "jet" is not a sequential scheme (use one of viridis, magma');
    expect(() => heatmapFromMatrix(attention, N, N, { colour: 'red' } as object)).toThrow(
      'heatmap: unknown option "colour"',
    );
    expect(() => heatmapFromMatrix(attention, 60, N)).toThrow(
      'heatmap: data has 4096 values but nRows × nCols = 60 × 64 = 3840',
    );
    expect(() => heatmapFromMatrix(attention, N, N, { rowLabels: ['a'] })).toThrow(
      'heatmap: option "rowLabels" has 1 labels for 64 rows',
    );
    expect(() => heatmapFromMatrix(attention, N, N, { scale: 'diverging', domain: [0.1, 1] })).toThrow(
      'heatmap: center 0 must lie inside domain [0.1, 1]',
    );
    expect(() =>
      heatmapFromMatrix(attention, N, N, { overlay: { mask: attention, colors: ['var(--x)', null] } }),
    ).toThrow('heatmap: overlay colour "var(--x)" is not one d3 can parse');
    expect(() => heatmapFromMatrix(attention, N, N, { width: -5 })).toThrow(
      'heatmap: option "width" must be a positive number (got -5)',
    );
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`screenshots: attention with tokens and a pruning mask (${theme})`, async () => {
      const n = 24;
      const a = heatmapFromMatrix(attentionPattern(n), n, n, {
        title: 'Layer 1 · head 2 attention',
        width: 360,
        rowTitle: 'query',
        colTitle: 'key',
        rowLabels: TOKENS.slice(0, n),
        colLabels: TOKENS.slice(0, n),
        legend: 'attention weight',
      });
      const box = mount(a.element, theme, 520);
      pointAt(canvasOf(a.element), 'pointermove', 15 * 15 + 7, 20 * 15 + 7);
      await shoot(box, `heatmap-attention-${theme}`);
      const w = weights(256, 384);
      const m = heatmapFromMatrix(w, 256, 384, {
        title: 'MLP weight, 50% magnitude-pruned',
        width: 480,
        scale: 'diverging',
        overlay: { mask: magnitudeMask(w, 0.5), labels: ['pruned', 'kept'] },
        rowTitle: 'output',
        colTitle: 'input',
      });
      await shoot(mount(m.element, theme, 600), `heatmap-mask-${theme}`);
    });
  }
});
