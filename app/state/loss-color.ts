/**
 * Colour of a token by its loss (nats): a sequential scale from pale (predictable) to deep red
 * (surprising), clamped at `LOSS_SCALE_MAX`. A fixed domain keeps colours comparable between
 * prompts. Pure: returns CSS colour strings.
 */

/** Loss (nats) mapped to the darkest colour; a 1-in-400 guess. */
export const LOSS_SCALE_MAX = 6;

// Stops of a yellow → orange → red ramp (ColorBrewer YlOrRd), as [r, g, b].
const STOPS: readonly (readonly [number, number, number])[] = [
  [255, 255, 204],
  [254, 217, 118],
  [253, 141, 60],
  [227, 26, 28],
  [128, 0, 38],
];

function rgbAt(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

/** Background and readable text colour for a token with this loss (null: no loss, e.g. BOS). */
export function lossColors(loss: number | null): { background: string; color: string } {
  if (loss === null || !Number.isFinite(loss)) return { background: 'transparent', color: 'inherit' };
  const [r, g, b] = rgbAt(loss / LOSS_SCALE_MAX);
  // Relative luminance decides between dark and light text.
  const lum = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  return { background: `rgb(${r} ${g} ${b})`, color: lum > 0.55 ? '#1a1a1a' : '#ffffff' };
}

/** CSS linear-gradient of the whole scale, for the legend. */
export function lossGradient(): string {
  const parts = STOPS.map(([r, g, b], i) => `rgb(${r} ${g} ${b}) ${(i / (STOPS.length - 1)) * 100}%`);
  return `linear-gradient(to right, ${parts.join(', ')})`;
}
