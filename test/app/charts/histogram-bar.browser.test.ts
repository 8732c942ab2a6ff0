/** Histogram and bar chart: snapshots, hover / keyboard readouts, log counts, sorting, errors, screenshots. */
import { afterEach, describe, expect, it } from 'vitest';
import { tableFromArrays } from 'apache-arrow';
import { histogram } from '../../../app/charts/histogram';
import { barChart } from '../../../app/charts/bar-chart';
import { TOKENS, weights } from './fixtures';
import { clearPage, mount, pointAt, pretty, shoot } from './helpers';

afterEach(clearPage);

const acts = () => tableFromArrays({ activation: Float64Array.from(weights(40, 50), (v) => v * v * v) });
const nextTokens = () =>
  tableFromArrays({
    token: [' the', ' a', ' her', ' his', '\n', ' Lily', ' it', ',', ' to', ' very'],
    p: Float64Array.from([0.31, 0.22, 0.12, 0.09, 0.06, 0.05, 0.04, 0.03, 0.02, 0.015]),
  });

describe('histogram', () => {
  it('matches the markup snapshot (log counts)', async () => {
    const el = histogram(acts(), {
      value: 'activation',
      bins: 40,
      logCount: true,
      title: 'MLP activations',
      reference: { x: 2, label: 'threshold' },
    });
    await expect(pretty(el)).toMatchFileSnapshot('./__snapshots__/histogram.snap');
    const ticks = [...el.querySelectorAll('g.tick text')].map((n) => n.textContent);
    expect(ticks).toEqual(expect.arrayContaining(['1', '10', '100']));
  });

  it('bins values, reads out a hovered bin, and accepts pre-binned input', () => {
    const t = tableFromArrays({ v: Float64Array.from([0.1, 0.2, 0.25, 0.7, 0.9, 0.95, 0.97]) });
    const el = histogram(t, { value: 'v', bins: 2, domain: [0, 1] });
    mount(el);
    const hits = el.querySelectorAll('.sb-hit');
    expect(hits).toHaveLength(2);
    pointAt(hits[1]!, 'pointerenter', 1, 1);
    expect(el.querySelector('.sb-readout')!.textContent).toBe('v 0.5 to 1: 4 (57.1%)');
    const pre = tableFromArrays({
      lo: Float64Array.from([0, 1, 2]),
      hi: Float64Array.from([1, 2, 3]),
      n: Int32Array.from([5, 0, 2]),
    });
    const el2 = histogram(pre, { x0: 'lo', x1: 'hi', count: 'n' });
    expect(el2.querySelectorAll('.sb-bars rect')).toHaveLength(2);
    el2
      .querySelector('svg')!
      .dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }));
    expect(el2.querySelector('.sb-readout')!.textContent).toBe('lo 2 to 3: 2 (28.6%)');
  });

  it("keeps a horizontal chart's negative value labels inside the plot, clear of the category labels", () => {
    const t = tableFromArrays({
      part: ['embed', 'L0.mlp', 'L4.heads'],
      value: Float64Array.from([-0.4286, -0.3064, 1.675]),
    });
    const el = barChart(t, { category: 'part', value: 'value', width: 460 });
    mount(el);
    const labels = [...el.querySelectorAll<SVGTextElement>('.sb-values text')];
    expect(labels.map((l) => l.textContent)).toEqual(['−0.4286', '−0.3064', '1.675']);
    // The labels' group is in plot coordinates, whose x = 0 is where the category labels end.
    for (const l of labels) expect(l.getBBox().x, l.textContent!).toBeGreaterThanOrEqual(0);
  });

  it('names bad options', () => {
    const t = acts();
    expect(() => histogram(t, { value: 'act' })).toThrow(
      'histogram: column "act" not in table (columns: activation)',
    );
    expect(() => histogram(t, {})).toThrow(
      'histogram: give either "value" (raw values) or "x0", "x1" and "count"',
    );
    expect(() => histogram(t, { value: 'activation', bins: 2.5 })).toThrow(
      'histogram: option "bins" must be a positive integer (got 2.5)',
    );
    expect(() => histogram(t, { value: 'activation', x0: 'activation' })).toThrow('histogram: give either');
  });
});

describe('barChart', () => {
  it('matches the markup snapshot (horizontal, sorted ascending)', async () => {
    const el = barChart(nextTokens(), {
      category: 'token',
      value: 'p',
      sort: 'ascending',
      format: '.1%',
      title: 'Next token',
    });
    await expect(pretty(el)).toMatchFileSnapshot('./__snapshots__/bar-chart.snap');
    const names = [...el.querySelectorAll('.sb-categories text')].map((n) => n.textContent);
    expect(names[0]).toBe('·very');
    expect(names.at(-1)).toBe('·the');
  });

  it('draws vertical bars with negative values below zero and reads out a hovered bar', () => {
    const t = tableFromArrays({
      layer: ['L0', 'L1', 'L2', 'L3'],
      delta: Float64Array.from([0.5, -0.25, 1, -1]),
    });
    const el = barChart(t, { category: 'layer', value: 'delta', orientation: 'vertical', height: 200 });
    mount(el);
    const bars = [...el.querySelectorAll<SVGRectElement>('.sb-bars rect')];
    const zeroY = Number(bars[0]!.getAttribute('y')) + Number(bars[0]!.getAttribute('height'));
    expect(Number(bars[1]!.getAttribute('y'))).toBeCloseTo(zeroY, 6);
    pointAt(el.querySelectorAll('.sb-hit')[3]!, 'pointerenter', 1, 1);
    expect(el.querySelector('.sb-readout')!.textContent).toBe('L3: −1');
  });

  it('names bad options', () => {
    const t = nextTokens();
    expect(() => barChart(t, { category: 'tok', value: 'p' })).toThrow(
      'barChart: column "tok" not in table (columns: token, p)',
    );
    expect(() => barChart(t, { category: 'token', value: 'p', sort: 'up' as 'ascending' })).toThrow(
      'barChart: option "sort" must be one of "none", "ascending", "descending" (got "up")',
    );
    expect(() => barChart(t, { category: 'token', value: 'p', format: '%%q' })).toThrow(
      'barChart: option "format" is not a d3-format specifier: "%%q"',
    );
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`screenshots with the histogram (${theme})`, async () => {
      const h = histogram(acts(), {
        value: 'activation',
        bins: 50,
        logCount: true,
        title: 'MLP activations (log count)',
        reference: { x: 2, label: 'threshold' },
      });
      const b = barChart(nextTokens(), {
        category: 'token',
        value: 'p',
        sort: 'descending',
        format: '.1%',
        title: 'Next-token probability',
      });
      const long = tableFromArrays({
        token: TOKENS.slice(1, 25),
        n: Float64Array.from({ length: 24 }, (_, i) => ((i * 37) % 23) + 1),
      });
      const v = barChart(long, {
        category: 'token',
        value: 'n',
        orientation: 'vertical',
        title: 'Token counts (vertical)',
      });
      pointAt(h.querySelectorAll('.sb-hit')[20]!, 'pointerenter', 1, 1);
      await shoot(mount(h, theme, 600), `histogram-${theme}`);
      pointAt(b.querySelectorAll('.sb-hit')[2]!, 'pointerenter', 1, 1);
      await shoot(mount(b, theme, 600), `bar-horizontal-${theme}`);
      await shoot(mount(v, theme, 600), `bar-vertical-${theme}`);
    });
  }
});
