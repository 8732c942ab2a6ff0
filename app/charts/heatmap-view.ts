/**
 * Zoom/pan arithmetic for the heatmap, kept apart from the DOM so it can be tested in Node.
 *
 * A view `{k, x, y}` maps a point (u, v) of the matrix, both in 0..1, to plot pixels
 * `(x + k·u·w, y + k·v·h)` for a plot of w×h CSS px. k = 1 shows the whole matrix; the view is
 * always clamped so the matrix covers the plot (no panning into empty space).
 */

/** Current zoom and pan: scale k ≥ 1 and offset (x, y) in CSS px. */
export interface View {
  k: number;
  x: number;
  y: number;
}

/** Plot size (CSS px), matrix shape and the largest zoom. */
export interface Frame {
  w: number;
  h: number;
  nRows: number;
  nCols: number;
  maxK: number;
}

/** The whole matrix. */
export const IDENTITY: Readonly<View> = Object.freeze({ k: 1, x: 0, y: 0 });

/**
 * Default largest zoom: a cell grows to at least 48 px, and never less than 4×.
 *
 * @example const frame = { w: 512, h: 512, nRows: 2048, nCols: 2048, maxK: defaultMaxZoom(512, 512, 2048, 2048) };
 */
export function defaultMaxZoom(w: number, h: number, nRows: number, nCols: number): number {
  return Math.max(4, 48 / Math.min(w / nCols, h / nRows));
}

/**
 * Clamp k to [1, maxK] and the offset so the matrix covers the plot.
 *
 * @example view = clampView({ k: 2, x: 50, y: -9999 }, frame); // → x 0, y −h
 */
export function clampView(v: View, f: Frame): View {
  const k = Math.min(f.maxK, Math.max(1, Number.isFinite(v.k) ? v.k : 1));
  const x = Math.min(0, Math.max(f.w - k * f.w, Number.isFinite(v.x) ? v.x : 0));
  const y = Math.min(0, Math.max(f.h - k * f.h, Number.isFinite(v.y) ? v.y : 0));
  return { k, x, y };
}

/**
 * Zoom by `factor` keeping the plot point (px, py) fixed (under the cursor).
 *
 * @example view = zoomAt(view, 2, 100, 80, frame); // 2× in, around (100, 80)
 */
export function zoomAt(v: View, factor: number, px: number, py: number, f: Frame): View {
  const k = Math.min(f.maxK, Math.max(1, v.k * factor));
  const r = k / v.k;
  return clampView({ k, x: px - (px - v.x) * r, y: py - (py - v.y) * r }, f);
}

/**
 * Move the matrix by (dx, dy) CSS px.
 *
 * @example view = panBy(view, -20, 0, frame); // content moves 20 px left
 */
export function panBy(v: View, dx: number, dy: number, f: Frame): View {
  return clampView({ k: v.k, x: v.x + dx, y: v.y + dy }, f);
}

/**
 * The cell under plot point (px, py), or null outside the matrix.
 *
 * @example const cell = cellAt(view, pointerX, pointerY, frame); // {row, col} or null
 */
export function cellAt(v: View, px: number, py: number, f: Frame): { row: number; col: number } | null {
  const u = (px - v.x) / (v.k * f.w);
  const t = (py - v.y) / (v.k * f.h);
  if (!(u >= 0 && u < 1 && t >= 0 && t < 1)) return null;
  return { row: Math.floor(t * f.nRows), col: Math.floor(u * f.nCols) };
}

/**
 * Plot-pixel rectangle of a block of cells [r0, r1) × [c0, c1).
 *
 * @example const r = cellRect(view, 3, 5, 4, 6, frame); svgRect.attr('x', r.x).attr('width', r.w);
 */
export function cellRect(v: View, r0: number, c0: number, r1: number, c1: number, f: Frame) {
  const sx = (v.k * f.w) / f.nCols;
  const sy = (v.k * f.h) / f.nRows;
  return { x: v.x + c0 * sx, y: v.y + r0 * sy, w: (c1 - c0) * sx, h: (r1 - r0) * sy };
}

/**
 * The whole cells that intersect the plot, as a source rectangle for `drawImage` (1 px per cell),
 * and where that block lands in plot pixels. Drawing only this block keeps each frame's cost
 * bounded by the plot size, whatever the zoom.
 *
 * @example const b = visibleBlock(view, frame); ctx.drawImage(src, b.c0, b.r0, b.c1 - b.c0, b.r1 - b.r0, b.dest.x, b.dest.y, b.dest.w, b.dest.h);
 */
export function visibleBlock(v: View, f: Frame) {
  const c0 = Math.max(0, Math.floor((-v.x / (v.k * f.w)) * f.nCols));
  const c1 = Math.min(f.nCols, Math.ceil(((f.w - v.x) / (v.k * f.w)) * f.nCols));
  const r0 = Math.max(0, Math.floor((-v.y / (v.k * f.h)) * f.nRows));
  const r1 = Math.min(f.nRows, Math.ceil(((f.h - v.y) / (v.k * f.h)) * f.nRows));
  return { r0, r1, c0, c1, dest: cellRect(v, r0, c0, r1, c1, f) };
}
