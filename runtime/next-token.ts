/**
 * The next-token distribution from one row of logits: softmax over the whole vocabulary (float64,
 * max subtracted), then the k most probable tokens, most probable first (ties: lower id first).
 */
export interface TopKDistribution {
  tokenIds: Int32Array;
  probabilities: Float32Array;
  logits: Float32Array;
}

/**
 * @example
 * topKDistribution(Float32Array.of(0, 2, 1), 2); // ids [1, 2], probabilities ≈ [0.665, 0.245]
 */
export function topKDistribution(logits: Float32Array, k: number): TopKDistribution {
  const n = logits.length;
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new RangeError(`k must be an integer in [1, ${n}], got ${k}`);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i]! - max);
  // Keep the k best in a small sorted list: O(n·k), fine for k ≤ 1000 and one row.
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = logits[i]!;
    if (ids.length === k && !(v > logits[ids[k - 1]!]!)) continue;
    let j = ids.length === k ? k - 1 : ids.length;
    while (j > 0 && v > logits[ids[j - 1]!]!) j--;
    ids.splice(j, 0, i);
    if (ids.length > k) ids.pop();
  }
  const tokenIds = Int32Array.from(ids);
  return {
    tokenIds,
    probabilities: Float32Array.from(ids, (i) => Math.exp(logits[i]! - max) / sum),
    logits: Float32Array.from(ids, (i) => logits[i]!),
  };
}
