/**
 * Per-cell state keyed by cell id. A cell id is any valid id, `constructor` and `__proto__`
 * included, so these are Maps: a plain object would hand back Object.prototype's members for such
 * ids, or swap its own prototype instead of storing the entry.
 */
import type { CellResult, CellRuntime } from '../notebook/cell-runtime';
import type { ReportCell } from '../report/report-data';

/**
 * A copy of `runtimes` with cell `id`'s runtime replaced, or removed when `rt` is undefined (a new
 * Map, so reactive state that holds it sees the change).
 *
 * @example
 * runtimes = withRuntime(runtimes, 'constructor', { status: 'running' });
 */
export function withRuntime(
  runtimes: ReadonlyMap<string, CellRuntime>,
  id: string,
  rt: CellRuntime | undefined,
): ReadonlyMap<string, CellRuntime> {
  const next = new Map(runtimes);
  if (rt) next.set(id, rt);
  else next.delete(id);
  return next;
}

/**
 * The result a report holds for cell `cellId` that may stand for it: one computed for `key`, or
 * any while the report is read-only (nothing could compute a fresh one).
 *
 * @example
 * const hit = reportResult(report.cells, 'c1', key, mode === 'report');
 */
export function reportResult(
  cells: ReadonlyMap<string, ReportCell>,
  cellId: string,
  key: string,
  readOnly: boolean,
): CellResult | undefined {
  const cell = cells.get(cellId);
  return cell && (cell.key === key || readOnly) ? cell.result : undefined;
}
