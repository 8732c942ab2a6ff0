/**
 * The patching cell's `restored` table decoded for display (pure, Node-testable): per layer with
 * every position patched, the layers × positions matrix, or the layers × heads matrix.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import type { CellResult } from '../../notebook/cell-runtime';

export interface PatchingData {
  /** Clean tokens as text (`clean→corrupted` where the prompts differ). */
  tokens: string[];
  /** Restored per layer, every position patched at once (positions 'all'). */
  byLayer?: Float32Array;
  /** Row-major [nLayers, tokens] (positions 'each'). */
  byPosition?: Float32Array;
  /** Row-major [nLayers, nHeads] ('heads'). */
  byHead?: Float32Array;
}

/**
 * @example
 * const d = decodePatching(result, 5, 8); // d.byPosition[l * d.tokens.length + p]
 */
export function decodePatching(result: CellResult, nLayers: number, nHeads: number): PatchingData {
  const t = tableFromIPC(result.tables.restored!);
  const tokens = Array.from(tableFromIPC(result.tables.tokens!).getChild('token')!.toArray() as string[]);
  const col = (n: string) => t.getChild(n)!.toArray() as ArrayLike<number>;
  const layer = col('layer');
  const position = col('position');
  const head = col('head');
  const restored = col('restored');
  const T = tokens.length;
  const out: PatchingData = { tokens };
  for (let i = 0; i < t.numRows; i++) {
    const l = Number(layer[i]);
    const p = Number(position[i]);
    const h = Number(head[i]);
    const v = Number(restored[i]);
    if (h >= 0) (out.byHead ??= new Float32Array(nLayers * nHeads))[l * nHeads + h] = v;
    else if (p >= 0) (out.byPosition ??= new Float32Array(nLayers * T))[l * T + p] = v;
    else (out.byLayer ??= new Float32Array(nLayers))[l] = v;
  }
  return out;
}

/** The per-layer curve as a table for a line chart. */
export function layerCurve(byLayer: Float32Array): Table {
  return tableFromArrays({
    layer: Int32Array.from(byLayer, (_, i) => i),
    restored: Float64Array.from(byLayer),
  });
}

/** The `k` largest entries of a row-major [rows, cols] matrix as "L{row}·{label(col)} value", largest first. */
export function strongest(
  m: Float32Array,
  cols: number,
  k: number,
  label: (col: number) => string,
): string[] {
  return Array.from(m, (v, i) => ({ v, i }))
    .sort((a, b) => b.v - a.v)
    .slice(0, k)
    .map(({ v, i }) => `L${Math.floor(i / cols)}·${label(i % cols)} ${(100 * v).toFixed(0)} %`);
}
