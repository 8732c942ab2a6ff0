/**
 * The mask cell's tables decoded for display: the chosen head's attention, which entries the mask
 * drops and how much mass each dropped entry held, plus the per-head metrics table. Pure.
 */
import { tableFromIPC, type Table } from 'apache-arrow';
import { readTensorTable } from '../../../runtime/tensor-table';
import type { CellResult } from '../../notebook/cell-runtime';

export interface MaskView {
  T: number;
  /** Row-major [T, T] dense attention probabilities of the chosen head. */
  pattern: Float32Array;
  /** [T, T]: 1 for a causal entry the mask drops (the overlay), 0 for kept or non-causal. */
  dropped: Uint8Array;
  /** [T, T]: the attention mass of each dropped entry (0 where kept). */
  droppedMass: Float32Array;
  /**
   * Top of the dropped-mass colour domain: the 99th percentile of the dropped entries' mass (a
   * few large entries would otherwise wash every other one out to white). At least 1e-6.
   */
  maxDropped: number;
  /** MASK_HEAD_COLUMNS: head, density, recall, dropped_mass. */
  heads: Table;
  /** Each position's token text. */
  tokens: string[];
}

/** Decode a mask result. */
export function decodeMask(result: CellResult): MaskView {
  const p = readTensorTable(tableFromIPC(result.tables.pattern!));
  const m = readTensorTable(tableFromIPC(result.tables.mask!));
  const [T] = p.shape as [number, number];
  if (m.shape[0] !== T || m.shape[1] !== T)
    throw new Error(`mask is [${m.shape}] but the pattern is [${p.shape}]`);
  const dropped = new Uint8Array(T * T);
  const droppedMass = new Float32Array(T * T);
  const values: number[] = [];
  for (let i = 0; i < T; i++) {
    for (let j = 0; j <= i; j++) {
      const k = i * T + j;
      if (m.data[k]) continue;
      dropped[k] = 1;
      droppedMass[k] = p.data[k]!;
      values.push(p.data[k]!);
    }
  }
  values.sort((a, b) => a - b);
  const maxDropped = Math.max(1e-6, values[Math.floor(0.99 * (values.length - 1))] ?? 0);
  const tokens = Array.from(tableFromIPC(result.tables.tokens!).getChild('token')!, (t) => String(t ?? ''));
  return {
    T,
    pattern: p.data,
    dropped,
    droppedMass,
    maxDropped,
    heads: tableFromIPC(result.tables.heads!),
    tokens,
  };
}
