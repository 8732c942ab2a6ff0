/**
 * What a cell kind is: its parameters' defaults, the inputs it reads, and how it runs. Pure data
 * and functions (no Svelte), so the registry and the scheduler are testable in Node; each kind's
 * view component is registered separately in views.ts.
 */
import type { RuntimeClient } from '../../workers/runtime-client';
import type { BackendInfo } from '../../workers/runtime-types';
import type { CellDoc, ParamValue } from '../notebook/document';
import type { CellResult, Json } from '../notebook/cell-runtime';

/** One input a kind reads: a role name and the kinds of cell that can fill it. */
export interface InputSpec {
  role: string;
  /** Shown in the input picker: "Model", "Text". */
  label: string;
  kinds: readonly string[];
}

/** An upstream cell as a running cell sees it. */
export interface ResolvedInput {
  cell: CellDoc;
  result: CellResult;
}

/** What the notebook provides to running cells. */
export interface CellServices {
  runtime: RuntimeClient;
  /** Backend the worker runs on (undefined until started). */
  backend(): BackendInfo | undefined;
  /** Bytes of a file the user picked earlier, stored by content hash (undefined when missing). */
  getBlob(hash: string): Promise<Uint8Array | undefined>;
  /**
   * The Hugging Face hub endpoint and access token of this browser (never part of a notebook);
   * absent where no hub can be reached (a headless run).
   */
  hub?(): { endpoint: string; token: string };
  /** Fetch a URL (bundled model files, user URLs) with progress. */
  fetchBytes(
    url: string,
    options: { signal: AbortSignal; onProgress?: (p: { loaded: number; total: number | undefined }) => void },
  ): Promise<ArrayBuffer>;
}

export interface RunContext {
  cell: CellDoc;
  inputs: Record<string, ResolvedInput>;
  signal: AbortSignal;
  /** Report progress (0..1, or undefined when unknown) and what is happening. */
  progress(fraction: number | undefined, phase?: string): void;
  /**
   * Show what the run has computed so far (e.g. a training curve): the view reads it from
   * `CellRuntime.partial` while the cell runs; it is dropped when the run ends.
   */
  partial(meta: Json): void;
  /**
   * Resolves at once unless the user paused the cell (kinds with `pausable`), then when they
   * resume. Long runs await it between steps.
   */
  waitIfPaused(): Promise<void>;
  /**
   * The result restored from the cache for exactly this key, when a kind that needs live worker
   * state runs again after a reload: the run may re-create that state from it instead of
   * recomputing (an SAE uploads its kept weights rather than training again).
   */
  restored?: CellResult;
  services: CellServices;
}

export interface CellKind {
  kind: string;
  /** Menu label: "Markdown", "Model", "Text", "Model view". */
  title: string;
  /** One line for the Add cell menu. */
  description: string;
  /** Bump when the kind's computation changes, so results cached by older code are not reused. */
  version?: number;
  /**
   * Params that only choose what the view shows among computed results (a metric, a head, an
   * axis): saved, shared and undoable like any param, but left out of the cell's key, so changing
   * one never re-runs the cell.
   */
  viewParams?: readonly string[];
  defaults(): Record<string, ParamValue>;
  inputs: readonly InputSpec[];
  /** Absent for kinds that only render their params (markdown): they are always done. */
  run?(ctx: RunContext): Promise<CellResult>;
  /**
   * Why the cell cannot run yet with these params (e.g. "pick the model files"), or undefined when
   * it can. A waiting cell stays idle with this note instead of failing.
   */
  waitingFor?(cell: CellDoc): string | undefined;
  /**
   * The result refers to state in the worker (a loaded model): after a reload the cached result is
   * shown, but the cell must run again before dependents can use it.
   */
  needsLive?: boolean;
  /** The cell's run can be paused and resumed (the frame shows Pause / Resume while it runs). */
  pausable?: boolean;
}
