/** Seeded chart fixtures: the same numbers on every run (d3.randomLcg), so snapshots are stable. */
import { randomLcg, randomNormal } from 'd3';
import { tableFromArrays, type Table } from 'apache-arrow';

/** A causal attention-like pattern: rows sum to 1 over keys ≤ query, sharper on recent tokens. */
export function attentionPattern(n: number, seed = 0.42): Float32Array {
  const rand = randomLcg(seed);
  const out = new Float32Array(n * n);
  for (let q = 0; q < n; q++) {
    let sum = 0;
    for (let k = 0; k <= q; k++) {
      const w = Math.exp(-0.35 * (q - k)) * (0.3 + rand()) + (k === 0 ? 1.5 : 0);
      out[q * n + k] = w;
      sum += w;
    }
    for (let k = 0; k <= q; k++) out[q * n + k]! /= sum;
  }
  return out;
}

/** Signed weights with row/column structure, roughly N(0, 1). */
export function weights(nRows: number, nCols: number, seed = 0.17): Float32Array {
  const normal = randomNormal.source(randomLcg(seed))(0, 1);
  const out = new Float32Array(nRows * nCols);
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) out[r * nCols + c] = 0.6 * normal() + Math.sin(r / 7) * Math.cos(c / 11);
  }
  return out;
}

/** Magnitude-pruning mask of `w`: 1 = kept (|w| above the `sparsity` quantile), 0 = dropped. */
export function magnitudeMask(w: Float32Array, sparsity: number): Uint8Array {
  const sorted = Float32Array.from(w, Math.abs).sort();
  const cut = sorted[Math.floor(sparsity * (sorted.length - 1))]!;
  return Uint8Array.from(w, (v) => (Math.abs(v) > cut ? 1 : 0));
}

/** A dense matrix as a long-form table (row, col, value). */
export function longForm(data: Float32Array, nRows: number, nCols: number): Table {
  const row = new Int32Array(nRows * nCols);
  const col = new Int32Array(nRows * nCols);
  for (let i = 0; i < row.length; i++) [row[i], col[i]] = [Math.floor(i / nCols), i % nCols];
  return tableFromArrays({ row, col, value: data });
}

/** The tokens of a short story (with spaces and a newline), for labels and the token strip. */
export const TOKENS = [
  '<s>',
  'Once',
  ' upon',
  ' a',
  ' time',
  ',',
  ' there',
  ' was',
  ' a',
  ' little',
  ' girl',
  ' named',
  ' Lily',
  '.',
  '\n',
  'She',
  ' loved',
  ' to',
  ' play',
  ' outside',
  ' in',
  ' the',
  ' park',
  '.',
  ' One',
  ' day',
  ',',
  ' she',
  ' saw',
  ' a',
  ' big',
  ',',
  ' red',
  ' ball',
  '.',
  '\n',
  '\n',
  'Lily',
  ' ran',
  ' to',
  ' the',
  ' ball',
  ' and',
  ' picked',
  ' it',
  ' up',
  '.',
  ' It',
  ' was',
  ' very',
  ' shiny',
  ' and',
  ' new',
  '.',
  ' She',
  ' was',
  ' so',
  ' happy',
  '!',
  ' She',
  ' wanted',
  ' to',
  ' show',
  ' her',
];

/** Three loss-vs-sparsity curves with a cliff, long form (sparsity, loss, method). */
export function lossCurves(): Table {
  const rand = randomLcg(0.9);
  const sparsity: number[] = [];
  const loss: number[] = [];
  const method: string[] = [];
  for (const [m, cliff, slope] of [
    ['magnitude', 0.6, 9],
    ['wanda', 0.7, 11],
    ['sparsegpt', 0.75, 13],
  ] as const) {
    for (let i = 0; i <= 18; i++) {
      const s = i / 20;
      sparsity.push(s);
      loss.push(1.3 + 0.08 * s + Math.exp(slope * (s - cliff)) * 0.25 + 0.01 * rand());
      method.push(m);
    }
  }
  return tableFromArrays({ sparsity: Float64Array.from(sparsity), loss: Float64Array.from(loss), method });
}
