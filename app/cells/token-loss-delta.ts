/**
 * A cell's answer to the notebook's selection as a loss change: one document's per-token loss as
 * the model computes it (`dense`) and under the cell's change (`changed`: a pruning point's
 * weights, a sparse-attention mask), as a strip of loss changes and the selected token's own
 * change. Both come from the worker as token-loss tables (TOKEN_LOSS_SCHEMA). Pure.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import type { Json } from '../notebook/cell-runtime';

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
  return lossDelta({
    tokens: col(d, 'token') as string[],
    dense: col(d, 'loss') as (number | null)[],
    changed: col(c, 'loss') as (number | null)[],
  });
}

/** The JSON part of a LossDelta (what a report keeps of it: app/state/kept-answers.ts). */
export type LossDeltaJson = { tokens: string[]; dense: (number | null)[]; changed: (number | null)[] };

/** A kept LossDeltaJson read back (a report's: untrusted), or undefined when it is not one. */
export function parseLossDelta(value: Json | undefined): LossDelta | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { tokens, dense, changed } = value;
  const losses = (v: Json | undefined): v is (number | null)[] =>
    Array.isArray(v) && v.every((x) => x === null || typeof x === 'number');
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) return undefined;
  if (!losses(dense) || !losses(changed)) return undefined;
  if (dense.length !== tokens.length || changed.length !== tokens.length) return undefined;
  return lossDelta({ tokens: tokens as string[], dense, changed });
}

/** A LossDelta from its token texts and losses (the strip rebuilt). */
export function lossDelta({ tokens, dense, changed }: LossDeltaJson): LossDelta {
  if (dense.length !== tokens.length || changed.length !== tokens.length) {
    throw new Error(`${tokens.length} tokens, ${dense.length} dense and ${changed.length} changed losses`);
  }
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
