/**
 * Matrix → pixels, once per data change: one RGBA pixel per cell, written through a Uint32Array
 * view with the colour scale's lookup table. The result lives in an offscreen canvas that every
 * frame scales with one `drawImage`.
 */
import { rgb } from 'd3';
import type { ColorScale } from './color';

/** A dense row-major matrix. */
export interface Matrix {
  data: ArrayLike<number>;
  nRows: number;
  nCols: number;
}

/**
 * Colour every cell (missing values stay transparent).
 *
 * @example const img = rasterize({ data, nRows: 64, nCols: 64 }, colorScale('heatmap', {}, data));
 */
export function rasterize(m: Matrix, scale: ColorScale): ImageData {
  const img = new ImageData(m.nCols, m.nRows);
  const out = new Uint32Array(img.data.buffer);
  const { lut } = scale;
  const n = m.nRows * m.nCols;
  const data = m.data;
  for (let i = 0; i < n; i++) {
    const t = scale.t(data[i]!);
    out[i] = t === t ? lut[(t * 255 + 0.5) | 0]! : 0;
  }
  return img;
}

/**
 * Colour a mask: cells equal to 0 get `colors[0]`, others `colors[1]`; null leaves them clear.
 *
 * @example rasterizeMask(kept, 64, 64, [null, 'rgba(0, 0, 0, 0.6)']);
 */
export function rasterizeMask(
  mask: ArrayLike<number>,
  nRows: number,
  nCols: number,
  colors: readonly [string | null, string | null],
): ImageData {
  const img = new ImageData(nCols, nRows);
  const out = new Uint32Array(img.data.buffer);
  const [off, on] = colors.map(packed);
  for (let i = 0; i < nRows * nCols; i++) out[i] = mask[i] ? on! : off!;
  return img;
}

/** A CSS colour as a premultiplication-free little-endian RGBA word (0 for null / invalid). */
function packed(css: string | null): number {
  if (css === null) return 0;
  const c = rgb(css);
  if (Number.isNaN(c.r)) return 0;
  const a = Math.round((c.opacity ?? 1) * 255);
  return ((a << 24) | (Math.round(c.b) << 16) | (Math.round(c.g) << 8) | Math.round(c.r)) >>> 0;
}

/**
 * An offscreen canvas holding `img` at 1 px per cell (reused when `into` has the right size).
 *
 * @example ctx.drawImage(toCanvas(rasterize(m, scale)), 0, 0);
 */
export function toCanvas(img: ImageData, into?: HTMLCanvasElement): HTMLCanvasElement {
  const c = into ?? document.createElement('canvas');
  if (c.width !== img.width) c.width = img.width;
  if (c.height !== img.height) c.height = img.height;
  c.getContext('2d')!.putImageData(img, 0, 0);
  return c;
}
