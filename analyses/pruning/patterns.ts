/**
 * Sparsity patterns: turn importance scores ([rows = out, cols = in], row-major, larger = more
 * important) into keep masks (`Uint8Array`, 1 = kept, 0 = pruned).
 *
 * Counts are exact: unstructured pruning at sparsity s removes exactly round(s·count) entries of the
 * compared set. Order is deterministic: entries are pruned by ascending score, and among equal
 * scores the lower flat index goes first (so for N:M, ties keep the later columns).
 */

/** A parsed pattern name; see `parsePattern`. */
export type PruningPattern =
  { kind: 'unstructured' } | { kind: 'nm'; n: number; m: number } | { kind: 'channels' } | { kind: 'heads' };

/** Where unstructured pruning compares scores: the whole layer (magnitude) or each output row (Wanda). */
export type Comparison = 'layer' | 'row';

/**
 * Parse 'unstructured' | 'N:M' (e.g. '2:4', keep N of every M) | 'channels' | 'heads'.
 *
 * @example
 * parsePattern('2:4'); // { kind: 'nm', n: 2, m: 4 }
 * parsePattern('5:4'); // throws: N must not exceed M
 */
export function parsePattern(text: string): PruningPattern {
  const t = text.trim();
  if (t === 'unstructured' || t === 'channels' || t === 'heads') return { kind: t };
  const nm = /^(\d+):(\d+)$/.exec(t);
  if (nm) {
    const n = Number(nm[1]);
    const m = Number(nm[2]);
    if (m < 1) throw new Error(`invalid pattern '${text}': M must be at least 1`);
    if (n < 1) throw new Error(`invalid pattern '${text}': N must be at least 1 (N:M keeps N of every M)`);
    if (n > m) throw new Error(`invalid pattern '${text}': N must not exceed M (N:M keeps N of every M)`);
    return { kind: 'nm', n, m };
  }
  throw new Error(
    `invalid pattern '${text}': expected 'unstructured', 'N:M' (e.g. '2:4'), 'channels' or 'heads'`,
  );
}

/** A pattern's name as tables and the CLI spell it ('unstructured', '2:4', 'channels', 'heads'). */
export function patternName(p: PruningPattern): string {
  return p.kind === 'nm' ? `${p.n}:${p.m}` : p.kind;
}

function checkShape(what: string, scores: ArrayLike<number>, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`${what}: invalid shape [${rows}, ${cols}]`);
  }
  if (scores.length !== rows * cols) {
    throw new RangeError(`${what}: scores have ${scores.length} entries, not [${rows}, ${cols}]`);
  }
}

function checkSparsity(what: string, sparsity: number): void {
  if (!(sparsity >= 0 && sparsity <= 1))
    throw new RangeError(`${what}: sparsity ${sparsity} is not in [0, 1]`);
}

/**
 * Indices `start..start+length-1` of `scores` sorted for pruning: ascending score, ties
 * by ascending index.
 */
function pruneOrder(scores: ArrayLike<number>, start: number, length: number): Uint32Array {
  const idx = new Uint32Array(length);
  for (let k = 0; k < length; k++) idx[k] = start + k;
  return idx.sort((a, b) => scores[a]! - scores[b]! || a - b);
}

/**
 * Unstructured mask pruning the lowest-scoring round(sparsity·count) entries, compared over the
 * whole layer (`'layer'`, magnitude pruning) or within each output row (`'row'`, Wanda: exactly
 * round(sparsity·cols) per row).
 *
 * @example
 * unstructuredMask(new Float32Array([1, 4, 3, 2]), 2, 2, 0.5, 'row'); // [0, 1, 1, 0]
 */
export function unstructuredMask(
  scores: ArrayLike<number>,
  rows: number,
  cols: number,
  sparsity: number,
  comparison: Comparison = 'layer',
): Uint8Array {
  checkShape('unstructuredMask', scores, rows, cols);
  checkSparsity('unstructuredMask', sparsity);
  const mask = new Uint8Array(rows * cols).fill(1);
  if (comparison === 'layer') {
    const order = pruneOrder(scores, 0, rows * cols);
    const k = Math.round(sparsity * rows * cols);
    for (let i = 0; i < k; i++) mask[order[i]!] = 0;
  } else if (comparison === 'row') {
    const k = Math.round(sparsity * cols);
    for (let r = 0; r < rows; r++) {
      const order = pruneOrder(scores, r * cols, cols);
      for (let i = 0; i < k; i++) mask[order[i]!] = 0;
    }
  } else {
    throw new Error(`invalid comparison: ${String(comparison)}`);
  }
  return mask;
}

/** Result of global magnitude pruning across layers. */
export interface GlobalMasks {
  masks: Uint8Array[];
  /** Largest pruned score (−∞ when nothing is pruned): every score below it is pruned. */
  threshold: number;
  /** Entries pruned in total: round(sparsity · Σ sizes). */
  pruned: number;
}

/**
 * Global pruning: one threshold across several layers' scores, pruning exactly
 * round(sparsity·total) entries; ties broken by (layer, index). Layers keep their own sizes, so the
 * per-layer sparsities that result differ.
 *
 * @example
 * globalThreshold([new Float32Array([1, 5]), new Float32Array([2, 3])], 0.5).masks; // [[0,1],[0,1]]
 */
export function globalThreshold(scoresList: readonly ArrayLike<number>[], sparsity: number): GlobalMasks {
  checkSparsity('globalThreshold', sparsity);
  let total = 0;
  for (const s of scoresList) total += s.length;
  const k = Math.round(sparsity * total);
  // Flatten into one buffer: flat position order = (layer, index), which breaks ties.
  const all = new Float64Array(total);
  let off = 0;
  for (const s of scoresList) {
    for (let i = 0; i < s.length; i++) all[off + i] = s[i]!;
    off += s.length;
  }
  const order = pruneOrder(all, 0, total);
  const keep = new Uint8Array(total).fill(1);
  for (let i = 0; i < k; i++) keep[order[i]!] = 0;
  off = 0;
  const masks = scoresList.map((s) => {
    const m = keep.slice(off, off + s.length);
    off += s.length;
    return m;
  });
  return { masks, threshold: k > 0 ? all[order[k - 1]!]! : -Infinity, pruned: k };
}

/**
 * N:M mask: in every group of `m` consecutive input columns of each row keep the `n` highest scores
 * (2:4 is the pattern sparse tensor cores run). `cols` must be a multiple of `m`.
 *
 * @example
 * nmMask(new Float32Array([4, 1, 3, 2]), 1, 4, 2, 4); // [1, 0, 1, 0]
 */
export function nmMask(
  scores: ArrayLike<number>,
  rows: number,
  cols: number,
  n: number,
  m: number,
): Uint8Array {
  checkShape('nmMask', scores, rows, cols);
  if (!Number.isInteger(n) || !Number.isInteger(m) || m < 1 || n < 0 || n > m) {
    throw new RangeError(`nmMask: invalid ${n}:${m} (need integers 0 ≤ N ≤ M, M ≥ 1)`);
  }
  if (cols % m !== 0) {
    throw new RangeError(
      `nmMask: ${n}:${m} needs cols divisible by ${m}, but the weight is [${rows}, ${cols}]`,
    );
  }
  const mask = new Uint8Array(rows * cols).fill(1);
  const prune = m - n;
  for (let g = 0; g < rows * cols; g += m) {
    const order = pruneOrder(scores, g, m);
    for (let i = 0; i < prune; i++) mask[order[i]!] = 0;
  }
  return mask;
}

/** Axis whose groups are removed: `'cols'` = input channels, `'rows'` = output channels. */
export type GroupAxis = 'rows' | 'cols';

/**
 * Aggregate scores per group of `groupSize` consecutive rows or columns by summing them (a channel
 * is a group of size 1; an attention head is a group of headDim).
 */
export function groupScores(
  scores: ArrayLike<number>,
  rows: number,
  cols: number,
  axis: GroupAxis,
  groupSize = 1,
): Float64Array {
  checkShape('groupScores', scores, rows, cols);
  const extent = axis === 'cols' ? cols : rows;
  if (!Number.isInteger(groupSize) || groupSize < 1 || extent % groupSize !== 0) {
    throw new RangeError(
      `groupScores: ${axis} of [${rows}, ${cols}] do not split into groups of ${groupSize}`,
    );
  }
  const out = new Float64Array(extent / groupSize);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = Math.floor((axis === 'cols' ? c : r) / groupSize);
      out[g] = out[g]! + scores[r * cols + c]!;
    }
  }
  return out;
}

/** A structured mask and the per-group view it came from. */
export interface StructuredMask {
  mask: Uint8Array;
  /** Summed score of each group. */
  groupScores: Float64Array;
  /** 1 = group kept. */
  groupKeep: Uint8Array;
}

/**
 * Structured pruning: drop the round(sparsity·groups) groups of `groupSize` consecutive rows or
 * columns with the lowest summed score. Whole FFN channels: axis 'cols' (down projection's inputs)
 * or 'rows' (up/gate outputs) with groupSize 1; attention heads: groupSize = headDim ('cols' of the
 * output projection, 'rows' of q/k/v).
 *
 * @example
 * structuredMask(scores, rows, cols, 0.25, { axis: 'cols', groupSize: headDim }).groupKeep;
 */
export function structuredMask(
  scores: ArrayLike<number>,
  rows: number,
  cols: number,
  sparsity: number,
  options: { axis?: GroupAxis; groupSize?: number } = {},
): StructuredMask {
  checkSparsity('structuredMask', sparsity);
  const axis = options.axis ?? 'cols';
  const groupSize = options.groupSize ?? 1;
  const gs = groupScores(scores, rows, cols, axis, groupSize);
  const groupKeep = new Uint8Array(gs.length).fill(1);
  const order = pruneOrder(gs, 0, gs.length);
  const k = Math.round(sparsity * gs.length);
  for (let i = 0; i < k; i++) groupKeep[order[i]!] = 0;
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      mask[r * cols + c] = groupKeep[Math.floor((axis === 'cols' ? c : r) / groupSize)]!;
    }
  }
  return { mask, groupScores: gs, groupKeep };
}
