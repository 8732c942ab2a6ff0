/** Colour scales and option checks that need no DOM (in Node). */
import { describe, expect, it } from 'vitest';
import { tableFromArrays } from 'apache-arrow';
import { colorScale } from '../../../app/charts/color';
import { checkKeys, numbers, strings } from '../../../app/charts/validate';

describe('colorScale', () => {
  it('is sequential over the finite extent by default', () => {
    const s = colorScale('t', {}, [2, NaN, 4, Infinity, 3]);
    expect(s.domain).toEqual([2, 4]);
    expect([s.t(2), s.t(3), s.t(4), s.t(10)]).toEqual([0, 0.5, 1, 1]);
    expect(s.t(NaN)).toBeNaN();
    expect(s.color(NaN)).toBe('transparent');
    expect(s.color(2)).toBe('rgb(68 1 84)'); // viridis(0)
  });

  it('is symmetric around the centre when diverging with an automatic domain', () => {
    const s = colorScale('t', { scale: 'diverging', center: 1 }, [-3, 2]);
    expect(s.domain).toEqual([-3, 1, 5]);
    expect(s.t(1)).toBe(0.5);
    expect(s.t(-3)).toBe(0);
    const given = colorScale('t', { scale: 'diverging', domain: [-1, 4] }, []);
    expect([given.t(-1), given.t(0), given.t(2), given.t(4)]).toEqual([0, 0.5, 0.75, 1]);
    // burd: negative blue, positive red
    const [lo, hi] = [given.lut[0]!, given.lut[255]!];
    expect((lo >>> 16) & 255).toBeGreaterThan(lo & 255);
    expect(hi & 255).toBeGreaterThan((hi >>> 16) & 255);
  });

  it('widens a constant domain and picks readable ink', () => {
    const s = colorScale('t', { scheme: 'greys' }, [5, 5]);
    expect(s.domain).toEqual([4.5, 5.5]);
    expect(s.ink(4.5)).toBe('#111418');
    expect(s.ink(5.5)).toBe('#ffffff');
  });

  it('names bad colour options', () => {
    expect(() => colorScale('heatmap', { scale: 'log' as 'sequential' }, [])).toThrow(
      'heatmap: option "scale" must be one of "sequential", "diverging" (got "log")',
    );
    expect(() => colorScale('heatmap', { scheme: 'burd' }, [])).toThrow(
      'heatmap: scheme "burd" is not a sequential scheme',
    );
    expect(() => colorScale('heatmap', { domain: [1, 1] }, [])).toThrow(
      'heatmap: option "domain" must be [lo, hi] with lo < hi (got [1,1])',
    );
  });
});

describe('column readers', () => {
  const t = tableFromArrays({ a: Float32Array.from([1, 2]), b: BigInt64Array.from([3n, 4n]), c: ['x', 'y'] });

  it('read numbers (int64 included) and strings', () => {
    expect([...numbers('c', t, 'a', 'x')]).toEqual([1, 2]);
    expect([...numbers('c', t, 'b', 'x')]).toEqual([3, 4]);
    expect(strings('c', t, 'c', 'x')).toEqual(['x', 'y']);
  });

  it('name the chart, the column and the columns there are', () => {
    expect(() => numbers('heatmap', t, 'foo', 'value')).toThrow(
      'heatmap: column "foo" not in table (columns: a, b, c)',
    );
    expect(() => numbers('heatmap', t, 'c', 'value')).toThrow('heatmap: column "c" must be numeric');
    expect(() => checkKeys('barChart', { colour: 1 }, ['color'])).toThrow(
      'barChart: unknown option "colour" (known: color)',
    );
  });
});
