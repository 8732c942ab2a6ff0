/**
 * Runtime state of cells: never persisted, never part of undo. The scheduler owns it; the UI reads
 * it. Results are Arrow IPC bytes plus a small JSON summary, the same bytes a report embeds.
 */
import type { ErrorView } from '../state/errors';

/** What a cell element shows in `data-cell-status`. */
export type CellStatus = 'idle' | 'queued' | 'running' | 'done' | 'stale' | 'error';

/** JSON that can be stored in IndexedDB and reports. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A cell's output: a JSON summary and named Arrow tables as IPC stream bytes. */
export interface CellResult {
  meta: Json;
  tables: Record<string, Uint8Array>;
}

export interface CellRuntime {
  status: CellStatus;
  /** Key (hash of kind, params and inputs' keys) of the inputs the result was computed from. */
  resultKey?: string;
  result?: CellResult;
  /**
   * False for a result restored from the cache whose kind needs live worker state (a loaded model):
   * it is shown, but dependents cannot use it until the cell runs again.
   */
  live?: boolean;
  /** performance.now() when the current run started. */
  startedAt?: number;
  /** Wall time of the last finished run, ms. */
  elapsedMs?: number;
  /** 0..1 during a run, undefined when indeterminate. */
  progress?: number;
  /** What the run is doing now ("Loading weights…"). */
  phase?: string;
  error?: ErrorView;
  /** What a running cell has computed so far (`RunContext.partial`), e.g. a live training curve. */
  partial?: Json;
  /** The user paused the run (pausable kinds). */
  paused?: boolean;
  /** A short remark beside the status ("restored from cache", "cancelled", "waiting for input"). */
  note?: string;
}

export const IDLE: CellRuntime = Object.freeze({ status: 'idle' }) as CellRuntime;
