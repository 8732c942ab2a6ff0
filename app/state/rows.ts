/** Arrow tables from the worker as plain rows for the components (types-only import of the schemas). */
import type { Table } from 'apache-arrow';
import type { NextTokenTypes, TokenLossTypes } from '../../runtime/tables';

export interface NextTokenRow {
  rank: number;
  tokenId: number;
  token: string;
  probability: number;
  logit: number;
}

export interface TokenLossRow {
  position: number;
  tokenId: number;
  token: string;
  /** Null for the first token (nothing predicts it). */
  loss: number | null;
}

export function nextTokenRows(t: Table<NextTokenTypes>): NextTokenRow[] {
  const rank = t.getChild('rank')!;
  const id = t.getChild('token_id')!;
  const token = t.getChild('token')!;
  const p = t.getChild('probability')!;
  const logit = t.getChild('logit')!;
  return Array.from({ length: t.numRows }, (_, i) => ({
    rank: rank.get(i)!,
    tokenId: id.get(i)!,
    token: token.get(i) ?? '',
    probability: p.get(i)!,
    logit: logit.get(i)!,
  }));
}

export function tokenLossRows(t: Table<TokenLossTypes>): TokenLossRow[] {
  const pos = t.getChild('position')!;
  const id = t.getChild('token_id')!;
  const token = t.getChild('token')!;
  const loss = t.getChild('loss')!;
  return Array.from({ length: t.numRows }, (_, i) => ({
    position: pos.get(i)!,
    tokenId: id.get(i)!,
    token: token.get(i) ?? '',
    loss: loss.get(i) ?? null,
  }));
}

/** Mean of the non-null losses, or null when there are none. */
export function meanLoss(rows: readonly TokenLossRow[]): number | null {
  const ls = rows.map((r) => r.loss).filter((l): l is number => l !== null);
  return ls.length ? ls.reduce((a, b) => a + b, 0) / ls.length : null;
}
