/**
 * The model view's result tables decoded for display: the token-loss and next-token tables (drawn
 * directly by the charts), per-head attention matrices, and what the chosen token attends to most.
 * Pure.
 */
import { tableFromIPC, type Table } from 'apache-arrow';
import { readTensorTable } from '../../../runtime/tensor-table';
import type { CellResult } from '../../notebook/cell-runtime';

export interface HeadView {
  head: number;
  /** Row-major [T, T] attention probabilities (query rows, key columns). */
  matrix: Float32Array;
  /** The keys the chosen token attends to most: position and weight, largest first. */
  top: { position: number; weight: number }[];
}

export interface ModelViewData {
  /** TOKEN_LOSS_SCHEMA: position, token_id, token, loss. */
  tokens: Table;
  /** NEXT_TOKEN_SCHEMA: rank, token_id, token, probability, logit. */
  next: Table;
  /** Each token's text, in order. */
  texts: string[];
  heads: HeadView[];
  T: number;
}

export function decodeModelView(result: CellResult, position: number, topKeys = 3): ModelViewData {
  const tokens = tableFromIPC(result.tables.tokens!);
  const next = tableFromIPC(result.tables.next!);
  const texts = Array.from(tokens.getChild('token')!, (t) => String(t ?? ''));
  const { shape, data } = readTensorTable(tableFromIPC(result.tables.pattern!));
  const [H, T] = shape as [number, number, number];
  const heads: HeadView[] = [];
  for (let h = 0; h < H; h++) {
    const matrix = data.subarray(h * T * T, (h + 1) * T * T);
    const row = matrix.subarray(position * T, position * T + position + 1);
    const top = Array.from(row, (weight, p) => ({ position: p, weight }))
      .sort((a, b) => b.weight - a.weight)
      .slice(0, topKeys);
    heads.push({ head: h, matrix, top });
  }
  return { tokens, next, texts, heads, T };
}

/** A [T, T] mask with ones on row `position`, to outline the chosen query in every head. */
export function rowMask(T: number, position: number): Uint8Array {
  const mask = new Uint8Array(T * T);
  mask.fill(1, position * T, position * T + T);
  return mask;
}

/**
 * Overlay mask [T × T] marking a token's row (the keys it attends to) and its column (the queries
 * that attend to it, on and below the diagonal).
 *
 * @example
 * rowColumnMask(3, 1); // [0,0,0, 1,1,1, 0,1,0]
 */
export function rowColumnMask(T: number, position: number): Uint8Array {
  const mask = rowMask(T, position);
  if (position >= 0 && position < T) for (let q = position; q < T; q++) mask[q * T + position] = 1;
  return mask;
}

/** What one head says about the selected token: whom it attends to (its row) and who attends to it (its column). */
export interface HeadAnswer {
  head: number;
  /** Keys the token attends to most, largest first. */
  row: { position: number; weight: number }[];
  /** Later queries that attend to the token most, largest first (the token's column below the diagonal). */
  column: { position: number; weight: number }[];
}

/**
 * The selected token's attention row and column in every head of the layer.
 *
 * @example
 * selectionAnswer(data, 5, 2)[0].row; // [{ position: 0, weight: 0.71 }, { position: 5, weight: 0.12 }]
 */
export function selectionAnswer(data: ModelViewData, position: number, k = 3): HeadAnswer[] {
  const { T } = data;
  if (!(position >= 0 && position < T)) return [];
  const best = (xs: { position: number; weight: number }[]) =>
    xs.sort((a, b) => b.weight - a.weight || a.position - b.position).slice(0, k);
  return data.heads.map((h) => ({
    head: h.head,
    row: best(
      Array.from(h.matrix.subarray(position * T, position * T + position + 1), (weight, p) => ({
        position: p,
        weight,
      })),
    ),
    column: best(
      Array.from({ length: T - position - 1 }, (_, i) => position + 1 + i).map((q) => ({
        position: q,
        weight: h.matrix[q * T + position]!,
      })),
    ),
  }));
}
