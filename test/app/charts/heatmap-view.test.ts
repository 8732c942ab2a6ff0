/** Zoom/pan arithmetic of the heatmap (pure, in Node). */
import { describe, expect, it } from 'vitest';
import {
  IDENTITY,
  cellAt,
  clampView,
  defaultMaxZoom,
  panBy,
  visibleBlock,
  zoomAt,
  type Frame,
} from '../../../app/charts/heatmap-view';

const f: Frame = { w: 400, h: 200, nRows: 100, nCols: 2048, maxK: 64 };

describe('heatmap view', () => {
  it('keeps the point under the cursor fixed when zooming', () => {
    const v = zoomAt(IDENTITY, 4, 100, 50, f);
    expect(v).toEqual({ k: 4, x: -300, y: -150 });
    const before = cellAt(IDENTITY, 100, 50, f);
    expect(cellAt(v, 100, 50, f)).toEqual(before);
    expect(zoomAt(v, 0.25, 100, 50, f)).toEqual(IDENTITY);
  });

  it('clamps zoom to [1, maxK] and the offset so the matrix covers the plot', () => {
    expect(zoomAt(IDENTITY, 1000, 0, 0, f).k).toBe(64);
    expect(zoomAt(IDENTITY, 0.1, 0, 0, f)).toEqual(IDENTITY);
    expect(clampView({ k: 2, x: 10, y: -1000 }, f)).toEqual({ k: 2, x: 0, y: -200 });
    expect(clampView({ k: NaN, x: NaN, y: 0 }, f)).toEqual(IDENTITY);
    expect(panBy({ k: 2, x: -100, y: -100 }, 30, -500, f)).toEqual({ k: 2, x: -70, y: -200 });
  });

  it('finds the cell under a point, and nothing outside the matrix', () => {
    expect(cellAt(IDENTITY, 0, 0, f)).toEqual({ row: 0, col: 0 });
    expect(cellAt(IDENTITY, 399.99, 199.99, f)).toEqual({ row: 99, col: 2047 });
    expect(cellAt(IDENTITY, 400, 10, f)).toBeNull();
    expect(cellAt(IDENTITY, -1, 10, f)).toBeNull();
  });

  it('draws only the visible block of whole cells', () => {
    const all = visibleBlock(IDENTITY, f);
    expect(all).toMatchObject({ r0: 0, r1: 100, c0: 0, c1: 2048, dest: { x: 0, y: 0, w: 400, h: 200 } });
    const v = { k: 16, x: -3000, y: -1000 };
    const b = visibleBlock(v, f);
    // a column is 16·400/2048 = 3.125 px: x ∈ [3000, 3400) covers columns 960..1088
    expect(b).toMatchObject({ c0: 960, c1: 1088, r0: 31, r1: 38 });
    expect(b.dest.x).toBeCloseTo(0, 9);
    expect(b.dest.x + b.dest.w).toBeGreaterThanOrEqual(400);
    expect(b.dest.y).toBeLessThanOrEqual(0);
  });

  it('lets a cell grow to at least 48 px by default', () => {
    expect(defaultMaxZoom(512, 512, 2048, 2048)).toBe(192);
    expect(defaultMaxZoom(480, 480, 8, 8)).toBe(4);
  });
});
