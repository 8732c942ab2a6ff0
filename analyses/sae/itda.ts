/**
 * ITDA, Inference-Time Decomposition of Activations (Leask et al. 2025; METHODS.md): a dictionary
 * built from the activations themselves instead of trained. Rows are visited in order; each is
 * decomposed by matching pursuit (k atoms) over the current dictionary, and if the normalised
 * residual ‖x − x̂‖² / ‖x‖² is above the threshold the row, scaled to unit norm, becomes a new atom.
 * Building stops once the dictionary reaches `maxSize`.
 *
 * Matching pursuit here is the classic greedy form: pick the atom with the largest |⟨r, d⟩|, take
 * the coefficient ⟨r, d⟩ (which may be negative), subtract, repeat k times (an atom may be picked
 * again; its coefficients add). The correlations are updated through the atoms' Gram matrix,
 * c ← c − a·G[j], so each of the k steps costs O(size) instead of O(size·d_in); the Gram matrix
 * takes size² floats (64 MB at 4,096 atoms).
 */
import type { SaeConfig, SaeParams } from './types';
import { batchRows } from './types';

export interface ItdaOptions {
  /** Atoms per decomposition. */
  k: number;
  /** Add a row whose normalised residual ‖x − x̂‖²/‖x‖² exceeds this (e.g. 0.1 = 90 % explained). */
  threshold: number;
  /** Stop adding atoms at this size. */
  maxSize: number;
}

/** A built dictionary. Atoms are unit-norm activation rows. */
export interface ItdaDictionary {
  dIn: number;
  size: number;
  /** [size, dIn] */
  atoms: Float32Array;
  /** [size] index of the data row each atom was taken from (its provenance, for Jaccard overlap). */
  sources: Int32Array;
}

/** Sparse codes and reconstruction of a batch. */
export interface ItdaCodes {
  /** [n, k] atom indices, −1 where fewer than k distinct atoms were used. */
  indices: Int32Array;
  /** [n, k] coefficients matching `indices`. */
  values: Float32Array;
  /** [n, size] the same codes dense, for the SAE metrics. */
  latents: Float32Array;
  /** [n, dIn] */
  reconstruction: Float32Array;
}

/** Atoms plus their Gram matrix (row stride `cap`), grown by doubling while building. */
class GramDictionary {
  size = 0;
  cap: number;
  atoms: Float32Array;
  gram: Float32Array;
  sources: Int32Array;

  constructor(
    readonly dIn: number,
    initialCap: number,
  ) {
    this.cap = Math.max(1, initialCap);
    this.atoms = new Float32Array(this.cap * dIn);
    this.gram = new Float32Array(this.cap * this.cap);
    this.sources = new Int32Array(this.cap);
  }

  /** Append x / ‖x‖ (from data row `source`). */
  add(x: Float32Array, offset: number, norm: number, source: number): void {
    const { dIn } = this;
    if (this.size === this.cap) this.grow(this.cap * 2);
    const m = this.size;
    const a = m * dIn;
    for (let d = 0; d < dIn; d++) this.atoms[a + d] = x[offset + d]! / norm;
    for (let j = 0; j <= m; j++) {
      let s = 0;
      for (let d = 0; d < dIn; d++) s += this.atoms[a + d]! * this.atoms[j * dIn + d]!;
      this.gram[m * this.cap + j] = s;
      this.gram[j * this.cap + m] = s;
    }
    this.sources[m] = source;
    this.size++;
  }

  private grow(cap: number): void {
    const atoms = new Float32Array(cap * this.dIn);
    atoms.set(this.atoms);
    const gram = new Float32Array(cap * cap);
    for (let i = 0; i < this.size; i++)
      gram.set(this.gram.subarray(i * this.cap, i * this.cap + this.size), i * cap);
    const sources = new Int32Array(cap);
    sources.set(this.sources);
    Object.assign(this, { atoms, gram, sources, cap });
  }

  /**
   * Matching pursuit of row x[offset..] with k steps. Writes the coefficient of each atom into the
   * sparse (idx, val) slots [0, k) and the residual into `r`; returns how many slots are used.
   */
  pursue(
    x: Float32Array,
    offset: number,
    k: number,
    r: Float64Array,
    c: Float64Array,
    idx: Int32Array,
    val: Float64Array,
  ): number {
    const { dIn, size, atoms, gram, cap } = this;
    for (let d = 0; d < dIn; d++) r[d] = x[offset + d]!;
    for (let j = 0; j < size; j++) {
      let s = 0;
      const a = j * dIn;
      for (let d = 0; d < dIn; d++) s += atoms[a + d]! * r[d]!;
      c[j] = s;
    }
    let used = 0;
    for (let step = 0; step < k; step++) {
      let best = -1;
      let bestAbs = 0;
      for (let j = 0; j < size; j++) {
        const v = Math.abs(c[j]!);
        if (v > bestAbs) {
          bestAbs = v;
          best = j;
        }
      }
      if (best < 0) break;
      const coef = c[best]!;
      const a = best * dIn;
      for (let d = 0; d < dIn; d++) r[d]! -= coef * atoms[a + d]!;
      const g = best * cap;
      for (let j = 0; j < size; j++) c[j]! -= coef * gram[g + j]!;
      let slot = 0;
      while (slot < used && idx[slot] !== best) slot++;
      if (slot === used) {
        idx[used] = best;
        val[used++] = 0;
      }
      val[slot]! += coef;
    }
    return used;
  }
}

function rowNorm(x: Float32Array, offset: number, dIn: number): number {
  let s = 0;
  for (let d = 0; d < dIn; d++) s += x[offset + d]! * x[offset + d]!;
  return Math.sqrt(s);
}

/**
 * Build an ITDA dictionary from activation rows [n, dIn]. Zero rows are skipped.
 *
 * @example
 * const dict = buildItda(acts, 64, { k: 8, threshold: 0.1, maxSize: 1024 });
 * const { reconstruction } = itdaEncode(dict, acts, 8);
 */
export function buildItda(data: Float32Array, dIn: number, opts: ItdaOptions): ItdaDictionary {
  const { k, threshold, maxSize } = opts;
  if (!Number.isSafeInteger(k) || k < 1) throw new Error(`invalid ITDA k: ${k}`);
  if (!Number.isSafeInteger(maxSize) || maxSize < 1) throw new Error(`invalid ITDA maxSize: ${maxSize}`);
  if (!(threshold >= 0 && threshold <= 1))
    throw new Error(`invalid ITDA threshold: ${threshold} (expected 0–1)`);
  const n = batchRows(data, dIn, 'ITDA data');
  const dict = new GramDictionary(dIn, Math.min(maxSize, 256));
  const r = new Float64Array(dIn);
  const c = new Float64Array(maxSize);
  const idx = new Int32Array(k);
  const val = new Float64Array(k);
  for (let i = 0; i < n && dict.size < maxSize; i++) {
    const off = i * dIn;
    const norm = rowNorm(data, off, dIn);
    if (!(norm > 0)) continue;
    if (dict.size > 0) {
      dict.pursue(data, off, k, r, c, idx, val);
      let r2 = 0;
      for (let d = 0; d < dIn; d++) r2 += r[d]! * r[d]!;
      if (r2 / (norm * norm) <= threshold) continue;
    }
    dict.add(data, off, norm, i);
  }
  return {
    dIn,
    size: dict.size,
    atoms: dict.atoms.slice(0, dict.size * dIn),
    sources: dict.sources.slice(0, dict.size),
  };
}

/** Matching-pursuit codes of x [n, dIn] over `dict` with k steps. */
export function itdaEncode(dict: ItdaDictionary, x: Float32Array, k: number): ItdaCodes {
  const { dIn, size } = dict;
  if (!Number.isSafeInteger(k) || k < 1) throw new Error(`invalid ITDA k: ${k}`);
  const n = batchRows(x, dIn);
  const g = new GramDictionary(dIn, size);
  for (let j = 0; j < size; j++) g.add(dict.atoms, j * dIn, 1, dict.sources[j]!);
  const indices = new Int32Array(n * k).fill(-1);
  const values = new Float32Array(n * k);
  const latents = new Float32Array(n * size);
  const reconstruction = new Float32Array(n * dIn);
  const r = new Float64Array(dIn);
  const c = new Float64Array(size);
  const idx = new Int32Array(k);
  const val = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const off = i * dIn;
    const used = g.pursue(x, off, k, r, c, idx, val);
    for (let s = 0; s < used; s++) {
      indices[i * k + s] = idx[s]!;
      values[i * k + s] = val[s]!;
      latents[i * size + idx[s]!] = val[s]!;
    }
    for (let d = 0; d < dIn; d++) reconstruction[off + d] = x[off + d]! - r[d]!;
  }
  return { indices, values, latents, reconstruction };
}

/**
 * The dictionary in SAE shape, for export: W_dec = atoms, W_enc = atomsᵀ, zero biases, as a TopK
 * SAE with the same k. Lossy: that SAE encodes with one round of correlations (TopK of ⟨x, d_j⟩
 * then ReLU), whereas matching pursuit re-correlates the residual after every pick, may pick
 * negative coefficients and may reuse an atom. On near-orthogonal atoms with positive codes the two
 * agree; elsewhere the exported SAE reconstructs worse, so evaluate ITDA with `itdaEncode`.
 */
export function itdaToSaeParams(
  dict: ItdaDictionary,
  k: number,
  hookName: string,
): { cfg: SaeConfig; params: SaeParams } {
  const { dIn, size } = dict;
  if (size === 0) throw new Error('itdaToSaeParams: empty dictionary');
  const wEnc = new Float32Array(dIn * size);
  for (let j = 0; j < size; j++) for (let d = 0; d < dIn; d++) wEnc[d * size + j] = dict.atoms[j * dIn + d]!;
  return {
    cfg: { kind: 'topk', dIn, dSae: size, k: Math.min(k, size), hookName, normalizeDecoder: true },
    params: { wEnc, bEnc: new Float32Array(size), wDec: dict.atoms.slice(), bDec: new Float32Array(dIn) },
  };
}
