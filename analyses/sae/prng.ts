/**
 * Seeded randomness for SAE initialisation and synthetic data: mulberry32 (a 32-bit state, fast,
 * well-distributed generator) and Box–Muller normals. Math.random is never used, so the same seed
 * gives bit-identical parameters on every run and platform.
 */

/** A seeded uniform generator on [0, 1) plus normals. */
export interface Prng {
  /** Uniform on [0, 1), 32 bits of resolution. */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
}

/**
 * @example
 * const rng = mulberry32(42);
 * rng.normal(); // same value on every run
 */
export function mulberry32(seed: number): Prng {
  let a = seed >>> 0;
  let spare: number | undefined;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    // Box–Muller yields two normals per pair of uniforms; the second is kept for the next call.
    normal() {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = uniform();
      while (u === 0) u = uniform(); // log(0) would be -Infinity
      const v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      return Math.floor(uniform() * n);
    },
  };
}
