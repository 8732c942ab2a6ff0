/**
 * A cell's answer to the notebook's selection as a loss change: one document's per-token loss as
 * the model computes it (`dense`) and under the cell's change (`changed`: a pruning point's
 * weights, a sparse-attention mask), as a strip of loss changes and the selected token's own
 * change. Both come from the worker as token-loss tables (TOKEN_LOSS_SCHEMA). Pure.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';

export interface LossDelta {
  /** Token texts of the document; position 0 is its document token. */
  tokens: string[];
  /** Loss of each token dense and changed (null at position 0: nothing predicts it). */
  dense: (number | null)[];
  changed: (number | null)[];
  /** `token` / `delta` (changed − dense, NaN at position 0), for a token strip. */
  strip: Table;
}

/** Decode the two token-loss tables (Arrow IPC bytes); they must name the same tokens. */
export function decodeLossDelta(denseIpc: Uint8Array, changedIpc: Uint8Array): LossDelta {
  const d = tableFromIPC(denseIpc);
  const c = tableFromIPC(changedIpc);
  if (d.numRows !== c.numRows) throw new Error(`dense has ${d.numRows} tokens, changed ${c.numRows}`);
  const col = (t: Table, name: string) =>
    Array.from({ length: t.numRows }, (_, i) => t.getChild(name)!.get(i));
  const tokens = col(d, 'token') as string[];
  const dense = col(d, 'loss') as (number | null)[];
  const changed = col(c, 'loss') as (number | null)[];
  const delta = dense.map((x, i) => (x === null || changed[i] === null ? NaN : changed[i]! - x));
  return {
    tokens,
    dense,
    changed,
    strip: tableFromArrays({ token: tokens, delta: Float32Array.from(delta) }),
  };
}

/** The selected token's dense and changed loss and their difference, or undefined past the scored tokens. */
export function tokenDelta(
  d: LossDelta,
  position: number,
): { token: string; dense: number; changed: number; delta: number } | undefined {
  const dense = d.dense[position];
  const changed = d.changed[position];
  if (dense == null || changed == null) return undefined;
  return { token: d.tokens[position]!, dense, changed, delta: changed - dense };
}
