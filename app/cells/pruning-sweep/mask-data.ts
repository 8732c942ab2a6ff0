/**
 * A pruning mask result decoded for display: one matrix's dense weights, keep mask (1 = kept) and
 * the values after pruning, with the job's summary. Pure.
 */
import { tableFromIPC } from 'apache-arrow';
import { readTensorTable } from '../../../runtime/tensor-table';
import type { JobAnswer } from '../../../workers/runtime-client';
import type { PruningMaskSummary } from '../../../workers/runtime-types';

export interface PruningMaskView {
  rows: number;
  cols: number;
  dense: Float32Array;
  mask: Uint8Array;
  pruned: Float32Array;
  summary: PruningMaskSummary;
}

export function decodePruningMask(r: JobAnswer<'pruningMask'>): PruningMaskView {
  const d = readTensorTable(tableFromIPC(r.tables.dense));
  const m = readTensorTable(tableFromIPC(r.tables.mask));
  const p = readTensorTable(tableFromIPC(r.tables.pruned));
  const [rows, cols] = d.shape as [number, number];
  for (const t of [m, p])
    if (t.shape[0] !== rows || t.shape[1] !== cols)
      throw new Error(`${t.name} is [${t.shape}] but the weights are [${d.shape}]`);
  return {
    rows,
    cols,
    dense: d.data,
    mask: Uint8Array.from(m.data, (v) => (v ? 1 : 0)),
    pruned: p.data,
    summary: r.summary,
  };
}
