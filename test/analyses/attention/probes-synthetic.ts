/** Synthetic causal attention patterns [T, T] for the probe tests. */

/** A [T, T] causal pattern whose row i is `row(i)` (length i + 1). */
export function pattern(T: number, row: (i: number) => number[]): Float32Array {
  const p = new Float32Array(T * T);
  for (let i = 0; i < T; i++) p.set(row(i), i * T);
  return p;
}

const oneHot = (n: number, j: number) => Array.from({ length: n }, (_, k) => (k === j ? 1 : 0));

/** Every query reads the token before it (token 0 reads itself). */
export const previousToken = (T: number) => pattern(T, (i) => oneHot(i + 1, Math.max(0, i - 1)));

/** Every query reads token c (queries before it read themselves). */
export const attendTo = (T: number, c: number) => pattern(T, (i) => oneHot(i + 1, Math.min(i, c)));

/** Uniform over the causal keys. */
export const uniform = (T: number) => pattern(T, (i) => Array<number>(i + 1).fill(1 / (i + 1)));

/** Heads stacked into one layer's [nHeads, T, T] probs. */
export function stack(...heads: Float32Array[]): Float32Array {
  const out = new Float32Array(heads.reduce((n, h) => n + h.length, 0));
  let o = 0;
  for (const h of heads) {
    out.set(h, o);
    o += h.length;
  }
  return out;
}
