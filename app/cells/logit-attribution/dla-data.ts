/**
 * The DLA cell's `parts` table decoded for display (pure, Node-testable): per-head values as a
 * layers × heads matrix, the other parts (embeddings, whole attention layers, MLPs, biases) as bars,
 * and the parts' sum beside the logit difference.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import type { CellResult } from '../../notebook/cell-runtime';

export interface DlaData {
  tokens: string[];
  /** Row-major [nLayers, nHeads] per-head parts (zeros where the model gives whole layers). */
  heads: Float32Array;
  /** Parts that are not single heads, in the model's order: name and value. */
  others: { name: string; value: number }[];
  /** Σ of every part. */
  sum: number;
}

export function decodeDla(result: CellResult, nLayers: number, nHeads: number): DlaData {
  const t = tableFromIPC(result.tables.parts!);
  const tokens = Array.from(tableFromIPC(result.tables.tokens!).getChild('token')!.toArray() as string[]);
  const heads = new Float32Array(nLayers * nHeads);
  const others: { name: string; value: number }[] = [];
  let sum = 0;
  for (let i = 0; i < t.numRows; i++) {
    const kind = t.getChild('kind')!.get(i) as string;
    const value = t.getChild('value')!.get(i) as number;
    sum += value;
    if (kind === 'head')
      heads[(t.getChild('layer')!.get(i) as number) * nHeads + (t.getChild('head')!.get(i) as number)] =
        value;
    else others.push({ name: t.getChild('name')!.get(i) as string, value });
  }
  return { tokens, heads, others, sum };
}

/** Bars: the non-head parts and, per layer, the sum of its heads (`L{l}.heads`). */
export function partBars(d: DlaData, nLayers: number, nHeads: number): Table {
  const rows = [...d.others];
  for (let l = 0; l < nLayers; l++) {
    let s = 0;
    for (let h = 0; h < nHeads; h++) s += d.heads[l * nHeads + h]!;
    if (s !== 0) rows.push({ name: `L${l}.heads`, value: s });
  }
  return tableFromArrays({
    part: rows.map((r) => r.name),
    value: Float64Array.from(rows.map((r) => r.value)),
  });
}
