/**
 * StreamingLLM mask: the first `sinks` tokens plus a sliding window of recent keys (self included).
 * The budget fixes the row's total n_i (common.ts); the sinks take min(sinks, n_i − 1) of it and the
 * window the rest, so the sinks never push the diagonal out.
 */
import type { HeadMasks, LayerQK } from '../types';
import { emptyMasks, rowBudgets, validateQK } from './common';

export interface WindowSinkOptions {
  /** Initial tokens always kept (StreamingLLM uses 4). Default 4. */
  sinks?: number;
}

/**
 * Sliding window + sink tokens; the same mask for every head (only q/k shapes are read).
 *
 * @example
 * // T = 6, 1 sink, 3 keys per query: row 5 keeps {0, 4, 5}
 * windowSinkMask(input, 3, { sinks: 1 });
 */
export function windowSinkMask(input: LayerQK, budget: number, options: WindowSinkOptions = {}): HeadMasks {
  validateQK(input);
  const sinks = options.sinks ?? 4;
  if (!Number.isInteger(sinks) || sinks < 0)
    throw new Error(`sinks must be a whole number ≥ 0; got ${sinks}`);
  const { T, nHeads } = input;
  const n = rowBudgets(T, budget, true, 'window-sink');
  const masks = emptyMasks(T, nHeads);
  const row = new Uint8Array(T);
  for (let i = 0; i < T; i++) {
    row.fill(0);
    const ni = n[i]!;
    const s = Math.min(sinks, ni - 1);
    const w = ni - s;
    row.fill(1, i - w + 1, i + 1);
    row.fill(1, 0, s);
    for (let h = 0; h < nHeads; h++) masks.keep.set(row.subarray(0, i + 1), (h * T + i) * T);
  }
  return masks;
}
