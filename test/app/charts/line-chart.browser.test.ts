/** Line chart: SVG snapshot, nearest-x hover and keyboard readout, log axes, option errors, screenshots. */
import { afterEach, describe, expect, it } from 'vitest';
import { tableFromArrays } from 'apache-arrow';
import { lineChart } from '../../../app/charts/line-chart';
import { lossCurves } from './fixtures';
import { clearPage, mount, pointAt, pretty, shoot } from './helpers';

afterEach(clearPage);

const opts = {
  x: 'sparsity',
  y: 'loss',
  series: 'method',
  title: 'Loss vs. sparsity',
  reference: { y: 1.3, label: 'dense 1.300' },
  markers: [{ x: 0.6, y: 1.597, label: 'magnitude cliff' }],
} as const;

describe('lineChart', () => {
  it('matches the markup snapshot', async () => {
    const el = lineChart(lossCurves(), { ...opts, markers: [...opts.markers] });
    await expect(pretty(el)).toMatchFileSnapshot('./__snapshots__/line-chart.snap');
    expect(el.querySelectorAll('path[data-series]')).toHaveLength(3);
    expect(el.querySelector('svg')!.getAttribute('aria-label')).toBe(
      'Loss vs. sparsity: line chart of loss against sparsity, 3 series: magnitude, wanda, sparsegpt',
    );
  });

  it('reads out every series at the x nearest the pointer, and steps with the arrow keys', () => {
    const el = lineChart(lossCurves(), { ...opts, markers: [...opts.markers], width: 560 });
    mount(el);
    const hit = el.querySelector('.sb-hit')!;
    const w = Number(hit.getAttribute('width'));
    pointAt(hit, 'pointermove', w * (0.5 / 0.9) + 3, 20); // sparsity 0.5, a little to the right
    const out = el.querySelector<HTMLElement>('.sb-readout')!;
    expect(out.dataset.x).toBe('0.5');
    expect(out.textContent).toMatch(
      /^sparsity 0\.5 · magnitude 1\.4\d+ · wanda 1\.3\d+ · sparsegpt 1\.3\d+$/,
    );
    expect(el.querySelector('.sb-hover')!.getAttribute('display')).toBeNull();
    const svg = el.querySelector('svg')!;
    svg.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    expect(out.dataset.x).toBe('0.55');
    pointAt(hit, 'pointerleave', 0, 0);
    expect(out.textContent).toMatch(/^Hover/);
  });

  it('draws log axes and says how many points a log axis could not show', () => {
    const t = tableFromArrays({
      step: Float64Array.from([0, 1, 10, 100, 1000]),
      loss: Float64Array.from([5, 3, 2, 1.5, 1.2]),
    });
    const el = lineChart(t, { x: 'step', y: 'loss', xType: 'log', yType: 'log' });
    const ticks = [...el.querySelectorAll('g.tick text')].map((n) => n.textContent);
    expect(ticks).toEqual(expect.arrayContaining(['1', '10', '100', '1000']));
    expect(el.querySelector('.sb-note')!.textContent).toBe('1 point ≤ 0 not shown on the log axis.');
    expect(el.querySelector('.sb-swatches')).toBeNull();
  });

  it('names bad options', () => {
    const t = lossCurves();
    expect(() => lineChart(t, { x: 'sparsity', y: 'los' })).toThrow(
      'lineChart: column "los" not in table (columns: sparsity, loss, method)',
    );
    expect(() => lineChart(t, { x: 'sparsity', y: 'loss', xType: 'symlog' as 'log' })).toThrow(
      'lineChart: option "xType" must be one of "linear", "log" (got "symlog")',
    );
    expect(() => lineChart(t, { x: 'method', y: 'loss' })).toThrow(
      'lineChart: column "method" must be numeric (it is Dictionary<Int32, Utf8>)',
    );
    expect(() => lineChart(t, { x: 'sparsity', y: 'loss', yDomain: [2, 1] })).toThrow(
      'lineChart: option "yDomain" must be [lo, hi] with lo < hi',
    );
    expect(() =>
      lineChart(t, { x: 'sparsity', y: 'loss', legend: true } as object as { x: string; y: string }),
    ).toThrow('lineChart: unknown option "legend"');
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`screenshot (${theme})`, async () => {
      const el = lineChart(lossCurves(), {
        ...opts,
        markers: [...opts.markers],
        yLabel: 'validation loss (nats)',
      });
      const box = mount(el, theme, 600);
      const hit = el.querySelector('.sb-hit')!;
      pointAt(hit, 'pointermove', Number(hit.getAttribute('width')) * (0.7 / 0.9), 50);
      await shoot(box, `line-chart-${theme}`);
    });
  }
});
