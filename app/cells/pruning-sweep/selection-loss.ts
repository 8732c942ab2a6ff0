/**
 * The pruning cell's answer to the notebook's selection: one document's per-token loss with the
 * dense weights and with the chosen point's (workers/pruning-jobs.ts `pruningTokenLoss`), as a
 * strip of loss changes and the selected token's own change. Pure.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import type { JobAnswer } from '../../../workers/runtime-client';

export interface LossDelta {
  /** Token texts of the document (cut to the model's context); position 0 is its document token. */
  tokens: string[];
  /** Loss of each token dense and pruned (null at position 0: nothing predicts it). */
  dense: (number | null)[];
  pruned: (number | null)[];
  /** `token` / `delta` (pruned − dense, null at position 0), for a token strip. */
  strip: Table;
}

/** Decode the job's two token-loss tables; they must name the same tokens. */
export function decodeLossDelta(r: JobAnswer<'pruningTokenLoss'>): LossDelta {
  const d = tableFromIPC(r.tables.dense);
  const p = tableFromIPC(r.tables.pruned);
  if (d.numRows !== p.numRows) throw new Error(`dense has ${d.numRows} tokens, pruned ${p.numRows}`);
  const col = (t: Table, name: string) =>
    Array.from({ length: t.numRows }, (_, i) => t.getChild(name)!.get(i));
  const tokens = col(d, 'token') as string[];
  const dense = col(d, 'loss') as (number | null)[];
  const pruned = col(p, 'loss') as (number | null)[];
  const delta = dense.map((x, i) => (x === null || pruned[i] === null ? NaN : pruned[i]! - x));
  return {
    tokens,
    dense,
    pruned,
    strip: tableFromArrays({ token: tokens, delta: Float32Array.from(delta) }),
  };
}

/** The selected token's dense and pruned loss and their change, or undefined past the scored tokens. */
export function tokenDelta(
  d: LossDelta,
  position: number,
): { token: string; dense: number; pruned: number; delta: number } | undefined {
  const dense = d.dense[position];
  const pruned = d.pruned[position];
  if (dense == null || pruned == null) return undefined;
  return { token: d.tokens[position]!, dense, pruned, delta: pruned - dense };
}
