/**
 * The cheapest deployable configuration a user can afford: among the sweep's points whose loss
 * increase is at most the allowed one and whose family is not an oracle (exact top-k, MoA's and
 * the permuted blocks' choices from the window's own attention: references a kernel cannot run),
 * the fewest attention FLOPs — the kept entries' products plus the cost of selecting them — ties
 * → the lowest density; with its per-head densities, recalls and, for moa, per-head windows.
 * JSON-serialisable for export.
 */
import type { Table } from 'apache-arrow';
import { tableRows, type SweepHeadRow, type SweepRow } from './sweep-tables';

export interface BestConfig {
  family: string;
  budget: number;
  loss_increase: number;
  max_loss_increase: number;
  density: number;
  recall: number;
  loss: number;
  attn_flops: number;
  attn_flops_dense: number;
  /** The part of attn_flops spent choosing the kept entries. */
  selection_flops: number;
  kv_bytes: number;
  kv_bytes_dense: number;
  /** One entry per (layer, head); `window` only for moa (keys per query, self included). */
  per_head: { layer: number; head: number; density: number; recall: number; window?: number }[];
}

/** A sweep's two tables (what `sweepMasks` returns; also after an Arrow IPC round trip). */
export interface SweepTables {
  points: Table;
  heads: Table;
}

/** Slack for float noise, so a budget-1.0 point (loss equal to dense) passes a limit of 0. */
const TOLERANCE = 1e-9;

/**
 * @example
 * const best = bestConfig(await sweepMasks(model, tok, text, { budgets: [0.1, 0.3, 1] }), 0.05);
 * best?.family; // e.g. 'topk'
 * @returns null when no deployable (non-oracle) point is within the allowed loss increase.
 * @throws Error for a negative or non-finite limit.
 */
export function bestConfig(sweep: SweepTables, maxLossIncrease: number): BestConfig | null {
  if (!Number.isFinite(maxLossIncrease) || maxLossIncrease < 0) {
    throw new Error(`max loss increase must be a finite number ≥ 0; got ${maxLossIncrease}`);
  }
  const ok = tableRows<SweepRow>(sweep.points).filter(
    (p) => Number.isFinite(p.loss) && p.loss_increase <= maxLossIncrease + TOLERANCE && p.oracle !== 1,
  );
  if (ok.length === 0) return null;
  ok.sort((a, b) => a.attn_flops - b.attn_flops || a.density - b.density);
  const best = ok[0]!;
  const per_head = tableRows<SweepHeadRow>(sweep.heads)
    .filter((h) => h.family === best.family && h.budget === best.budget)
    .map((h) => ({
      layer: h.layer,
      head: h.head,
      density: h.density,
      recall: h.recall,
      ...(best.family === 'moa' ? { window: h.window } : {}),
    }));
  return {
    family: best.family,
    budget: best.budget,
    loss_increase: best.loss_increase,
    max_loss_increase: maxLossIncrease,
    density: best.density,
    recall: best.recall,
    loss: best.loss,
    attn_flops: best.attn_flops,
    attn_flops_dense: best.attn_flops_dense,
    selection_flops: best.selection_flops,
    kv_bytes: best.kv_bytes,
    kv_bytes_dense: best.kv_bytes_dense,
    per_head,
  };
}

/**
 * The best configuration as pretty JSON text (for a download or `--export FILE`).
 *
 * @example
 * await writeFile('best.json', bestConfigJson(sweep, 0.05));
 */
export function bestConfigJson(sweep: SweepTables, maxLossIncrease: number): string {
  return JSON.stringify(bestConfig(sweep, maxLossIncrease), null, 2) + '\n';
}
