/**
 * The activations explorer's tables decoded for display (pure, Node-testable): the [tokens,
 * channels] values, the strongest channels by a statistic, one token's largest channels, massive
 * activations and the chunk-sparsity curves.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import { readTensorTable } from '../../../runtime/tensor-table';
import type { CellResult } from '../../notebook/cell-runtime';

export interface ActivationsData {
  /** Row-major [tokens, channels]. */
  values: Float32Array;
  T: number;
  C: number;
  tokens: string[];
  channels: Table;
  massive: { position: number; channel: number; value: number }[];
  /** Per token, the share of channels near zero. */
  tokenSparsity: Float64Array;
  /** FFN neuron chunk sparsity (dense models): layer, chunk, cls, tls. */
  chunks?: Table;
}

export function decodeActivations(result: CellResult): ActivationsData {
  const { shape, data } = readTensorTable(tableFromIPC(result.tables.values!));
  const [T, C] = shape as [number, number];
  const massive = tableFromIPC(result.tables.massive!);
  const num = (t: Table, n: string, i: number) => Number(t.getChild(n)!.get(i));
  return {
    values: data,
    T,
    C,
    tokens: Array.from(tableFromIPC(result.tables.tokens!).getChild('token')!.toArray() as string[]),
    channels: tableFromIPC(result.tables.channels!),
    massive: Array.from({ length: massive.numRows }, (_, i) => ({
      position: num(massive, 'position', i),
      channel: num(massive, 'channel', i),
      value: num(massive, 'value', i),
    })),
    tokenSparsity: Float64Array.from(
      tableFromIPC(result.tables.token_sparsity!).getChild('near_zero')!.toArray() as ArrayLike<number>,
    ),
    chunks: result.tables.chunks ? tableFromIPC(result.tables.chunks) : undefined,
  };
}

/** A [T, C] mask with a one along row `position` (the selected token). */
export function rowMask(d: ActivationsData, position: number): Uint8Array {
  const m = new Uint8Array(d.T * d.C);
  if (position >= 0 && position < d.T) m.fill(1, position * d.C, (position + 1) * d.C);
  return m;
}

/** The `k` channels with the largest `statistic`, as bars (`ch N`, value), largest first. */
export function channelBars(d: ActivationsData, statistic: string, k: number): Table {
  const col = d.channels.getChild(statistic);
  if (!col) throw new Error(`unknown channel statistic "${statistic}"`);
  const v = col.toArray() as ArrayLike<number>;
  const top = Array.from({ length: d.C }, (_, c) => c)
    .sort((a, b) => Number(v[b]) - Number(v[a]) || a - b)
    .slice(0, k);
  return tableFromArrays({
    channel: top.map((c) => `ch ${c}`),
    value: Float64Array.from(top, (c) => Number(v[c])),
  });
}

/** Channels flagged as outliers (some |a| ≥ 6), in channel order. */
export function outlierChannels(d: ActivationsData): number[] {
  const flag = d.channels.getChild('outlier')!.toArray() as ArrayLike<number>;
  return Array.from({ length: d.C }, (_, c) => c).filter((c) => Number(flag[c]) === 1);
}

/** Token `position`'s `k` largest channels by |a|, with their values. */
export function tokenTopChannels(
  d: ActivationsData,
  position: number,
  k: number,
): { channel: number; value: number }[] {
  const row = d.values.subarray(position * d.C, (position + 1) * d.C);
  return Array.from(row, (value, channel) => ({ channel, value }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.channel - b.channel)
    .slice(0, k);
}

/** Chunk-sparsity curves with the layer as the series (`L0`, `L1`, …). */
export function chunkCurves(chunks: Table): Table {
  const layer = chunks.getChild('layer')!.toArray() as ArrayLike<number>;
  return tableFromArrays({
    chunk: Int32Array.from(chunks.getChild('chunk')!.toArray() as ArrayLike<number>),
    cls: Float64Array.from(chunks.getChild('cls')!.toArray() as ArrayLike<number>),
    layer: Array.from(layer, (l) => `L${l}`),
  });
}

/** Per-token sparsity as a table for a line chart. */
export function sparsityCurve(d: ActivationsData): Table {
  return tableFromArrays({
    position: Int32Array.from(d.tokenSparsity, (_, i) => i),
    near_zero: d.tokenSparsity,
  });
}
