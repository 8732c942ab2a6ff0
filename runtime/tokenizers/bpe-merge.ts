/**
 * The merge phase of llama2.c's `encode`, made fast. run.c rescans every adjacent pair after each
 * merge (quadratic; minutes for a long text); this keeps the pairs in a heap and produces exactly
 * the same result: repeatedly merge the adjacent pair whose concatenation is in the vocabulary with
 * the highest score, the leftmost one on ties, while that score beats run.c's -1e10 floor.
 */

/** run.c starts its search at `float best_score = -1e10` and keeps pairs with a strictly higher score. */
const SCORE_FLOOR = Math.fround(-1e10);

interface Candidate {
  score: number;
  /** Node of the pair's left token; node order is text order, so the lower node is further left. */
  left: number;
  right: number;
  leftToken: number;
  rightToken: number;
  merged: number;
}

/** What the merge needs from a vocabulary: piece keys (byte strings), lookup, scores. */
export interface MergeVocab {
  /** Piece of each id as a "binary string" (one char per byte) so lookups compare bytes as C does. */
  keys: readonly string[];
  lookup: ReadonlyMap<string, number>;
  scores: Float32Array;
}

/** Merge `ids` in place semantics of run.c `encode`; returns the merged ids. */
export function mergePairs(ids: readonly number[], vocab: MergeVocab): number[] {
  const n = ids.length;
  if (n < 2) return ids.slice();
  const token = Int32Array.from(ids);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const alive = new Uint8Array(n).fill(1);
  const heap: Candidate[] = [];

  const consider = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const merged = vocab.lookup.get(vocab.keys[token[left]!]! + vocab.keys[token[right]!]!);
    if (merged === undefined) return;
    const score = vocab.scores[merged]!;
    if (!(score > SCORE_FLOOR)) return;
    push(heap, { score, left, right, leftToken: token[left]!, rightToken: token[right]!, merged });
  };
  for (let i = 0; i + 1 < n; i++) consider(i, i + 1);

  while (heap.length > 0) {
    const c = pop(heap);
    // Stale entries: a side was merged away or changed since this pair was queued.
    if (!alive[c.left] || !alive[c.right] || next[c.left] !== c.right) continue;
    if (token[c.left] !== c.leftToken || token[c.right] !== c.rightToken) continue;
    token[c.left] = c.merged;
    alive[c.right] = 0;
    const after = next[c.right]!;
    next[c.left] = after;
    if (after >= 0) prev[after] = c.left;
    consider(prev[c.left]!, c.left);
    consider(c.left, after);
  }

  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) out.push(token[i]!);
  return out;
}

/** Heap order: higher score first, then the leftmost pair (run.c keeps the first best). */
function before(a: Candidate, b: Candidate): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

function push(heap: Candidate[], c: Candidate): void {
  heap.push(c);
  let i = heap.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(heap[i]!, heap[p]!)) break;
    [heap[i], heap[p]] = [heap[p]!, heap[i]!];
    i = p;
  }
}

function pop(heap: Candidate[]): Candidate {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
  return top;
}
