/**
 * Arrow tables of the interpretability tools, as the worker jobs send them and the cells read them.
 * Schemas (column names in INTERP_COLUMNS):
 *
 * - `tokens`: `position` (int32), `token` (utf8): a document's tokens as text, BOS at 0 when present.
 * - logit lens `layers`: `layer` (int32; 0 = after the embeddings, L = the model's output),
 *   `kl_to_final`, `top1_agreement`, `next_token_loss`, `next_token_prob`, `next_token_rank` (float64).
 * - logit lens `grid`: one row per (position, layer): `position`, `layer` (int32), `target_rank`
 *   (int32, 0 = top-1), `target_prob`, `kl` (float64), `top1_agree` (int32, 1 when this layer's
 *   top-1 equals the output's), `top` (utf8: the top tokens and probabilities, best first).
 *   Position p reads the residual after token p and predicts token p + 1.
 * - patching `restored`: `layer`, `position` (int32; −1 = all positions at once), `head` (int32;
 *   −1 = the whole hook), `restored` (float64): (patched − corrupted) / (clean − corrupted).
 * - DLA `parts`: `name` (utf8), `kind` (utf8), `layer`, `head` (int32; −1 when none), `value`
 *   (float64, the part's share of logit(answer) − logit(wrong)).
 * - activations `channels`: `channel` (int32), `mean_abs`, `max_abs`, `kurtosis`, `near_zero`
 *   (float64), `outlier` (int32 0/1); `massive`: `position`, `channel` (int32), `value` (float64);
 *   `token_sparsity`: `position` (int32), `near_zero` (float64, share of channels near zero);
 *   `chunks`: `layer`, `chunk` (int32), `cls` (float64, share of FFN neurons no token of a chunk
 *   uses), `tls` (float64, the layer's share of inactive neurons per token).
 */
import { makeVector, Table, Utf8, vectorFromArray } from 'apache-arrow';
import type { ActivationStats } from './activation-stats';
import type { DlaResult } from './dla';
import type { LogitLensResult } from './logit-lens';
import type { PatchingResult } from './patching';

export const INTERP_COLUMNS = {
  position: 'position',
  token: 'token',
  layer: 'layer',
  head: 'head',
  targetRank: 'target_rank',
  targetProb: 'target_prob',
  kl: 'kl',
  top1Agree: 'top1_agree',
  top: 'top',
  restored: 'restored',
  name: 'name',
  kind: 'kind',
  value: 'value',
  channel: 'channel',
  chunk: 'chunk',
} as const;

const i32 = (values: readonly number[]) => makeVector(Int32Array.from(values));
const f64 = (values: readonly number[]) => makeVector(Float64Array.from(values));
const utf8 = (values: readonly string[]) => vectorFromArray([...values], new Utf8());

/** `tokens`: each position's text. */
export function tokensTable(tokens: readonly string[]): Table {
  return new Table({ position: i32(tokens.map((_, i) => i)), token: utf8(tokens) });
}

/**
 * The logit lens's `layers` and `grid` tables; `piece(id)` names a token for the `top` column.
 *
 * @example
 * const { layers, grid } = logitLensTables(await logitLens(model, tokens, { maxPositions: 64 }), piece);
 */
export function logitLensTables(
  r: LogitLensResult,
  piece: (id: number) => string,
): { layers: Table; grid: Table } {
  const layers = new Table({
    layer: i32(r.layers.map((l) => l.layer)),
    kl_to_final: f64(r.layers.map((l) => l.kl_to_final)),
    top1_agreement: f64(r.layers.map((l) => l.top1_agreement)),
    next_token_loss: f64(r.layers.map((l) => l.next_token_loss)),
    next_token_prob: f64(r.layers.map((l) => l.next_token_prob)),
    next_token_rank: f64(r.layers.map((l) => l.next_token_rank)),
  });
  const finalLayer = r.layers.length - 1;
  const finalTop = new Map<number, number | undefined>();
  for (const c of r.cells) if (c.layer === finalLayer) finalTop.set(c.position, c.top[0]?.tokenId);
  const cells = [...r.cells].sort((a, b) => a.position - b.position || a.layer - b.layer);
  const grid = new Table({
    position: i32(cells.map((c) => c.position)),
    layer: i32(cells.map((c) => c.layer)),
    target_rank: i32(cells.map((c) => c.targetRank)),
    target_prob: f64(cells.map((c) => c.targetProb)),
    kl: f64(cells.map((c) => c.kl)),
    top1_agree: i32(cells.map((c) => (c.top[0]?.tokenId === finalTop.get(c.position) ? 1 : 0))),
    top: utf8(cells.map((c) => c.top.map((t) => `${piece(t.tokenId)} ${t.prob.toFixed(3)}`).join('\n'))),
  });
  return { layers, grid };
}

/**
 * Patching's `restored` table: per layer with all positions patched, per (layer, position), or per
 * (layer, head), whichever the result holds.
 */
export function patchingTable(r: PatchingResult): Table {
  const rows: { layer: number; position: number; head: number; restored: number }[] = [];
  r.all?.forEach((v, layer) => rows.push({ layer, position: -1, head: -1, restored: v }));
  r.byPosition?.forEach((row, layer) =>
    row.forEach((v, position) => rows.push({ layer, position, head: -1, restored: v })),
  );
  r.byHead?.forEach((row, layer) =>
    row.forEach((v, head) => rows.push({ layer, position: -1, head, restored: v })),
  );
  return new Table({
    layer: i32(rows.map((x) => x.layer)),
    position: i32(rows.map((x) => x.position)),
    head: i32(rows.map((x) => x.head)),
    restored: f64(rows.map((x) => x.restored)),
  });
}

/** DLA's `parts` table, in the analysis's order (embeddings first, then layer by layer). */
export function dlaTable(r: DlaResult): Table {
  return new Table({
    name: utf8(r.parts.map((p) => p.name)),
    kind: utf8(r.parts.map((p) => p.kind)),
    layer: i32(r.parts.map((p) => p.layer ?? -1)),
    head: i32(r.parts.map((p) => p.head ?? -1)),
    value: f64(r.parts.map((p) => p.value)),
  });
}

/** The activations explorer's `channels`, `massive` and `token_sparsity` tables. */
export function activationTables(s: ActivationStats): {
  channels: Table;
  massive: Table;
  token_sparsity: Table;
} {
  const c = s.channelStats;
  return {
    channels: new Table({
      channel: i32(c.map((x) => x.channel)),
      mean_abs: f64(c.map((x) => x.meanAbs)),
      max_abs: f64(c.map((x) => x.maxAbs)),
      kurtosis: f64(c.map((x) => x.kurtosis)),
      near_zero: f64(c.map((x) => x.nearZero)),
      outlier: i32(c.map((x) => (x.outlier ? 1 : 0))),
    }),
    massive: new Table({
      position: i32(s.massive.map((m) => m.token)),
      channel: i32(s.massive.map((m) => m.channel)),
      value: f64(s.massive.map((m) => m.value)),
    }),
    token_sparsity: new Table({
      position: i32(s.tokenSparsity.map((_, i) => i)),
      near_zero: f64(s.tokenSparsity),
    }),
  };
}

/** FFN neuron chunk sparsity (analyses/moe neuronChunkSparsity) as the `chunks` table. */
export function chunkTable(
  layers: readonly { layer: number; tls: number; curve: readonly { chunk: number; cls: number }[] }[],
): Table {
  const rows = layers.flatMap((l) =>
    l.curve.map((p) => ({ layer: l.layer, tls: l.tls, chunk: p.chunk, cls: p.cls })),
  );
  return new Table({
    layer: i32(rows.map((r) => r.layer)),
    chunk: i32(rows.map((r) => r.chunk)),
    cls: f64(rows.map((r) => r.cls)),
    tls: f64(rows.map((r) => r.tls)),
  });
}
