/**
 * The logit lens cell's tables decoded for display (pure, Node-testable): the layers × positions
 * matrix of one metric, the KL-to-output curve, one position's trajectory over layers and its top
 * tokens. Position p is token p's residual, predicting token p + 1.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import type { LensMetric } from '../../../analyses/interp/catalogue';
import type { CellResult } from '../../notebook/cell-runtime';

export interface LensData {
  /** Per boundary: layer, kl_to_final, top1_agreement, next_token_* (analyses/interp/tables.ts). */
  layers: Table;
  grid: Table;
  /** Every token of the document as text (one more than `positions`). */
  tokens: string[];
  /** Layer boundaries (nLayers + 1: 0 = embeddings, last = the output). */
  boundaries: number;
  positions: number;
}

export function decodeLens(result: CellResult): LensData {
  const layers = tableFromIPC(result.tables.layers!);
  const grid = tableFromIPC(result.tables.grid!);
  const tokens = tableFromIPC(result.tables.tokens!).getChild('token')!.toArray() as string[];
  const boundaries = layers.numRows;
  const positions = grid.numRows / boundaries;
  if (!Number.isInteger(positions) || positions !== tokens.length - 1)
    throw new Error(
      `logit lens grid has ${grid.numRows} rows for ${boundaries} layers and ${tokens.length} tokens`,
    );
  return { layers, grid, tokens: Array.from(tokens), boundaries, positions };
}

/** Row index of (position, layer): the grid is ordered by position, then layer. */
const rowOf = (d: LensData, position: number, layer: number) => position * d.boundaries + layer;

/**
 * Row-major [boundaries, positions] values of `metric` (layer 0 on the first row).
 *
 * @example
 * heatmapFromMatrix(lensMatrix(d, 'target_prob'), d.boundaries, d.positions, { … });
 */
export function lensMatrix(d: LensData, metric: LensMetric): Float32Array {
  const col = d.grid.getChild(metric)!.toArray() as ArrayLike<number>;
  const out = new Float32Array(d.boundaries * d.positions);
  for (let p = 0; p < d.positions; p++)
    for (let l = 0; l < d.boundaries; l++) out[l * d.positions + p] = Number(col[rowOf(d, p, l)]);
  return out;
}

/** A [boundaries, positions] mask with a one down column `position` (the selected token). */
export function columnMask(d: LensData, position: number): Uint8Array {
  const m = new Uint8Array(d.boundaries * d.positions);
  if (position >= 0 && position < d.positions)
    for (let l = 0; l < d.boundaries; l++) m[l * d.positions + position] = 1;
  return m;
}

/** The KL-to-output curve and top-1 agreement per layer boundary (for a line chart). */
export function klCurve(d: LensData): Table {
  return tableFromArrays({
    layer: Int32Array.from(d.layers.getChild('layer')!.toArray() as ArrayLike<number>),
    kl: Float64Array.from(d.layers.getChild('kl_to_final')!.toArray() as ArrayLike<number>),
  });
}

export interface TrajectoryStep {
  layer: number;
  rank: number;
  prob: number;
  kl: number;
  /** Top tokens with probabilities, best first ("token 0.123" per line). */
  top: string;
}

/** Position `position`'s view at every layer boundary: the selected token's logit-lens trajectory. */
export function trajectory(d: LensData, position: number): TrajectoryStep[] {
  if (!(position >= 0 && position < d.positions)) return [];
  const get = (name: string, i: number) => d.grid.getChild(name)!.get(i) as number;
  return Array.from({ length: d.boundaries }, (_, layer) => {
    const i = rowOf(d, position, layer);
    return {
      layer,
      rank: get('target_rank', i),
      prob: get('target_prob', i),
      kl: get('kl', i),
      top: d.grid.getChild('top')!.get(i) as string,
    };
  });
}

/** The first boundary from which the next token stays top-1 to the output, or −1 when it never is. */
export function formsAt(steps: readonly TrajectoryStep[]): number {
  let at = -1;
  for (let i = steps.length - 1; i >= 0 && steps[i]!.rank === 0; i--) at = i;
  return at;
}

/**
 * The `top` column's text split back into tokens and probabilities (a token may hold spaces: the
 * probability follows the last one).
 *
 * @example
 * topTokens(' she 0.612\n he 0.201'); // [{ token: ' she', prob: 0.612 }, { token: ' he', prob: 0.201 }]
 */
export function topTokens(top: string): { token: string; prob: number }[] {
  return top
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const at = line.lastIndexOf(' ');
      return { token: line.slice(0, at), prob: Number(line.slice(at + 1)) };
    });
}
