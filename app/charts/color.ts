/**
 * Colour scales for heatmaps, token strips and their legends: sequential or diverging, domain
 * automatic or given, sampled into a 256-entry lookup table so a 2048×2048 matrix colours in one
 * pass over a Uint32Array (d3's per-value string interpolation would take seconds there).
 */
import * as d3 from 'd3';
import { ChartOptionError, finite, interval, oneOf } from './validate';

const SEQUENTIAL = {
  viridis: d3.interpolateViridis,
  magma: d3.interpolateMagma,
  inferno: d3.interpolateInferno,
  plasma: d3.interpolatePlasma,
  cividis: d3.interpolateCividis,
  blues: d3.interpolateBlues,
  greys: d3.interpolateGreys,
  reds: d3.interpolateReds,
  ylorrd: d3.interpolateYlOrRd,
} as const;

const DIVERGING = {
  // burd: negative blue, positive red (matplotlib's RdBu_r), the usual choice for weights.
  burd: (t: number) => d3.interpolateRdBu(1 - t),
  rdbu: d3.interpolateRdBu,
  piyg: d3.interpolatePiYG,
  puor: d3.interpolatePuOr,
  brbg: d3.interpolateBrBG,
} as const;

export type SequentialScheme = keyof typeof SEQUENTIAL;
export type DivergingScheme = keyof typeof DIVERGING;

/** Colour options shared by the heatmap and the token strip. */
export interface ColorOptions {
  /** `sequential` (default) or `diverging` around `center`. */
  scale?: 'sequential' | 'diverging';
  /** Sequential: viridis (default), magma, inferno, plasma, cividis, blues, greys, reds, ylorrd. Diverging: burd (default), rdbu, piyg, puor, brbg. */
  scheme?: SequentialScheme | DivergingScheme;
  /** `[lo, hi]`; automatic when absent (diverging: symmetric around `center`). */
  domain?: [number, number];
  /** Diverging midpoint (default 0). */
  center?: number;
}

/** A resolved colour scale. */
export interface ColorScale {
  kind: 'sequential' | 'diverging';
  /** `[lo, hi]`, or `[lo, center, hi]` for diverging. */
  domain: number[];
  /** Position in the ramp, 0..1, clamped; NaN for a missing value. */
  t(v: number): number;
  /** Colour at a ramp position (0..1). */
  interpolate(t: number): string;
  /** 256 RGBA entries, little-endian packed for a Uint32Array view of ImageData. */
  lut: Uint32Array;
  /** CSS colour of a value (`transparent` for missing). */
  color(v: number): string;
  /** Readable text colour on top of the value's colour. */
  ink(v: number): string;
}

/**
 * Resolve colour options against the data's finite values.
 *
 * @example const s = colorScale('heatmap', { scale: 'diverging' }, values); s.color(-0.2);
 */
export function colorScale(chart: string, opts: ColorOptions, values: ArrayLike<number>): ColorScale {
  const kind = oneOf(chart, 'scale', opts.scale ?? 'sequential', ['sequential', 'diverging'] as const);
  const schemes: Record<string, (t: number) => string> = kind === 'sequential' ? SEQUENTIAL : DIVERGING;
  const scheme = opts.scheme ?? (kind === 'sequential' ? 'viridis' : 'burd');
  const interpolate = schemes[scheme];
  if (!interpolate) {
    throw new ChartOptionError(
      chart,
      'scheme',
      `scheme "${scheme}" is not a ${kind} scheme (use one of ${Object.keys(schemes).join(', ')})`,
    );
  }
  const center = kind === 'diverging' ? finite(chart, 'center', opts.center ?? 0) : 0;
  let [lo, hi] = opts.domain ? interval(chart, 'domain', opts.domain) : extent(values);
  if (kind === 'diverging' && !opts.domain) {
    const m = Math.max(Math.abs(lo - center), Math.abs(hi - center)) || 1;
    [lo, hi] = [center - m, center + m];
  }
  if (kind === 'diverging' && !(lo < center && center < hi)) {
    throw new ChartOptionError(chart, 'center', `center ${center} must lie inside domain [${lo}, ${hi}]`);
  }
  const t =
    kind === 'sequential'
      ? (v: number) => clamp01((v - lo) / (hi - lo))
      : (v: number) =>
          clamp01(v < center ? (0.5 * (v - lo)) / (center - lo) : 0.5 + (0.5 * (v - center)) / (hi - center));
  const lut = new Uint32Array(256);
  const luminance = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const c = d3.rgb(interpolate(i / 255));
    lut[i] = ((255 << 24) | (Math.round(c.b) << 16) | (Math.round(c.g) << 8) | Math.round(c.r)) >>> 0;
    luminance[i] = (0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b) / 255;
  }
  const index = (v: number) => Math.round(t(v) * 255);
  return {
    kind,
    domain: kind === 'sequential' ? [lo, hi] : [lo, center, hi],
    t: (v) => (Number.isNaN(v) ? NaN : t(v)),
    interpolate,
    lut,
    color(v) {
      if (Number.isNaN(v)) return 'transparent';
      const p = lut[index(v)]!;
      return `rgb(${p & 255} ${(p >>> 8) & 255} ${(p >>> 16) & 255})`;
    },
    ink: (v) => (Number.isNaN(v) || luminance[index(v)]! > 0.5 ? '#111418' : '#ffffff'),
  };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function extent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(lo <= hi)) return [0, 1]; // no finite values
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/**
 * The sequential and diverging scheme names, for pickers in the UI.
 *
 * @example for (const s of SCHEMES.diverging) picker.add(new Option(s));
 */
export const SCHEMES = { sequential: Object.keys(SEQUENTIAL), diverging: Object.keys(DIVERGING) } as const;
