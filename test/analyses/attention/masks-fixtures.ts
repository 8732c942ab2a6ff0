/** Seeded q/k fixtures for the mask-zoo tests (mulberry32 + Box–Muller, so failures reproduce). */
import type { LayerQK } from '../../../analyses/attention/types';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normal(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Random q/k with scale `scale` (2 gives peaked, non-uniform attention at headDim 8–16). */
export function randomQK(
  seed: number,
  T: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  scale = 2,
): LayerQK {
  const n = normal(rng(seed));
  const q = Float32Array.from({ length: T * nHeads * headDim }, () => scale * n());
  const k = Float32Array.from({ length: T * nKvHeads * headDim }, () => scale * n());
  return { layer: 0, T, nHeads, nKvHeads, headDim, q, k };
}

/** Kept entries of row i of head h. */
export function rowKept(keep: Uint8Array, T: number, h: number, i: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < T; j++) if (keep[(h * T + i) * T + j]) out.push(j);
  return out;
}
