/**
 * Choosing the next token from logits, as llama2.c run.c `sample`: greedy argmax at temperature
 * 0, otherwise softmax(logits / temperature) in float32 and one coin flip, optionally restricted to
 * the top-p nucleus.
 */
import type { XorShiftRng } from './random';

export interface SamplingOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Nucleus mass in (0, 1); undefined, ≤ 0 or ≥ 1 samples from the full distribution. */
  topP?: number;
  rng: XorShiftRng;
}

/** Index of the largest value; the first one on ties. */
export function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

/** Sample a token id from one row of logits (the array is not modified). */
export function sampleToken(logits: Float32Array, o: SamplingOptions): number {
  if (!(o.temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${o.temperature}`);
  if (o.temperature === 0) return argmax(logits);
  // Float32Array keeps run.c's float32 rounding of the scaled logits and probabilities.
  const p = new Float32Array(logits.length);
  for (let i = 0; i < p.length; i++) p[i] = logits[i]! / o.temperature;
  softmaxInPlace(p);
  const coin = o.rng.nextF32();
  const topP = o.topP;
  if (topP === undefined || topP <= 0 || topP >= 1) return sampleMult(p, coin);
  return sampleTopP(p, topP, coin);
}

function softmaxInPlace(x: Float32Array): void {
  let max = x[0]!;
  for (let i = 1; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    x[i] = Math.exp(x[i]! - max);
    sum += x[i]!;
  }
  for (let i = 0; i < x.length; i++) x[i] = x[i]! / sum;
}

function sampleMult(p: Float32Array, coin: number): number {
  let cdf = 0;
  for (let i = 0; i < p.length; i++) {
    cdf += p[i]!;
    if (coin < cdf) return i;
  }
  return p.length - 1; // rounding
}

function sampleTopP(p: Float32Array, topP: number, coin: number): number {
  // Tokens below (1 - topP) / (n - 1) can never be in the nucleus; skip them before sorting.
  const cutoff = (1 - topP) / (p.length - 1);
  const idx: number[] = [];
  for (let i = 0; i < p.length; i++) if (p[i]! >= cutoff) idx.push(i);
  // run.c uses qsort (unstable); break ties by index so results are deterministic.
  idx.sort((a, b) => p[b]! - p[a]! || a - b);
  let cumulative = 0;
  let last = idx.length - 1;
  for (let i = 0; i < idx.length; i++) {
    cumulative += p[idx[i]!]!;
    if (cumulative > topP) {
      last = i;
      break;
    }
  }
  const r = coin * cumulative;
  let cdf = 0;
  for (let i = 0; i <= last; i++) {
    cdf += p[idx[i]!]!;
    if (r < cdf) return idx[i]!;
  }
  return idx[last]!;
}
