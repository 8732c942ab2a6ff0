/**
 * Which params a report keeps read-only. A report shows the results it was exported with; a param
 * that feeds the computation would need a re-run, so it is locked until the user presses Make
 * live. View params (a metric, a layer, a head) only choose what is shown among computed results
 * and stay interactive.
 *
 * @example
 * lockedKeys('report', { viewParams: ['metric'] }, { metric: 'entropy', maxWindows: 4 }); // ['maxWindows']
 * lockedKeys('live', { viewParams: ['metric'] }, { maxWindows: 4 }); // []
 */
import type { CellKind } from '../cells/cell-kind';

export type NotebookMode = 'live' | 'report';

/** True when param `name` of a cell of `kind` cannot change in `mode`. */
export function isParamLocked(
  mode: NotebookMode,
  kind: Pick<CellKind, 'viewParams'> | undefined,
  name: string,
): boolean {
  if (mode === 'live') return false;
  return !(kind?.viewParams ?? []).includes(name);
}

/** The keys of `patch` that cannot change in `mode` (empty when the whole patch may apply). */
export function lockedKeys(
  mode: NotebookMode,
  kind: Pick<CellKind, 'viewParams'> | undefined,
  patch: Readonly<Record<string, unknown>>,
): string[] {
  return Object.keys(patch).filter((k) => isParamLocked(mode, kind, k));
}
