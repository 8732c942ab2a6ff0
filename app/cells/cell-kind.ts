/**
 * What a cell kind is: its parameters' defaults, the inputs it reads, and how it runs. Pure data
 * and functions (no Svelte), so the registry and the scheduler are testable in Node; each kind's
 * view component is registered separately in views.ts.
 */
import type { RuntimeClient } from '../../workers/runtime-client';
import type { BackendInfo } from '../../workers/runtime-types';
import type { CellDoc, ParamValue } from '../notebook/document';
import type { OptionSchema, OptionValue } from '../../analyses/options';
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
  /**
   * A report opened from a file (`file:`) is made live where nothing can be fetched: the params
   * this cell switches to there (a model cell asks for picked files instead of downloading), or
   * undefined to keep its own.
   */
  offline?(cell: CellDoc): Record<string, ParamValue> | undefined;
}

// ── typed kinds ──────────────────────────────────────────────────────────

/**
 * An input a typed kind reads, carrying the upstream kind's param and result types: the run sees
 * `inputs[role].params` parsed by that kind's schema and `inputs[role].meta` as its result type.
 */
export interface TypedInput<R extends string, P, M> extends InputSpec {
  role: R;
  /** The upstream kind's param schema (readers parse the upstream params through it). */
  upstream: { params: OptionSchema<P & Record<string, OptionValue>> };
  /** Type-only: the upstream result meta. */
  readonly meta?: M;
}

/** What a run sees of one typed input. */
export interface TypedResolvedInput<P, M> extends ResolvedInput {
  params: P;
  meta: M;
}

type AnyInput = TypedInput<string, unknown, unknown>;

export type TypedInputs<I extends readonly AnyInput[]> = {
  [S in I[number] as S['role']]: S extends TypedInput<string, infer P, infer M>
    ? TypedResolvedInput<P, M>
    : never;
};

/** A typed kind's result: the meta is its own type, not loose JSON. */
export interface TypedResult<M> {
  meta: M;
  tables: CellResult['tables'];
}

export interface TypedRunContext<P, I extends readonly AnyInput[]> extends Omit<RunContext, 'inputs'> {
  /** The cell's params, parsed once through the kind's schema. */
  params: P;
  inputs: TypedInputs<I>;
}

/** A cell kind declared with its param schema, input types and result type. */
export interface CellKindSpec<
  P extends Record<string, OptionValue>,
  M extends object,
  I extends readonly AnyInput[],
> extends Omit<CellKind, 'defaults' | 'run' | 'waitingFor' | 'inputs' | 'viewParams' | 'offline'> {
  /** The schema, usually exported by the analysis that owns these options (its catalogue). */
  params: OptionSchema<P>;
  inputs: I;
  viewParams?: readonly (keyof P & string)[];
  run?(ctx: TypedRunContext<P, I>): Promise<TypedResult<M>>;
  waitingFor?(params: P): string | undefined;
  offline?(params: P): Partial<P> | undefined;
}

/** A typed kind: a CellKind the scheduler runs, plus typed readers for views and dependents. */
export interface TypedCellKind<P extends Record<string, OptionValue>, M extends object> extends CellKind {
  params: OptionSchema<P>;
  /** The cell's params for a view: invalid values read as defaults (the run reports them). */
  paramsOf(cell: CellDoc): P;
  /** A result of this kind, typed. */
  metaOf(result: CellResult | undefined): M | undefined;
  /** This kind as the input `role` of another kind. */
  asInput<R extends string>(role: R, label: string): TypedInput<R, P, M>;
}

/**
 * Declare a cell kind: params parsed once through `spec.params` before `run` (an invalid param in
 * a loaded notebook is the cell's error, naming the param — never a crash), inputs typed by the
 * kinds that fill them.
 *
 * @example
 * export const lossKind = defineCellKind({
 *   kind: 'loss', title: 'Loss', description: '…', params: LOSS_OPTIONS,
 *   inputs: [modelKind.asInput('model', 'Model'), textKind.asInput('text', 'Text')] as const,
 *   async run({ params, inputs }) { … inputs.model.meta.key … },
 * });
 */
export function defineCellKind<
  P extends Record<string, OptionValue>,
  M extends object,
  const I extends readonly AnyInput[] = readonly [],
>(spec: CellKindSpec<P, M, I>): TypedCellKind<P, M> {
  const { run, waitingFor, offline, params: schema, ...rest } = spec;
  const kind: TypedCellKind<P, M> = {
    ...rest,
    params: schema,
    defaults: () => schema.defaults(),
    paramsOf: (cell) => schema.read(cell.params),
    // The one place a result's JSON is read as this kind's meta: results are only ever made by
    // this kind's own run (or restored from its cache or a report under the same kind and version).
    metaOf: (result) => result?.meta as M | undefined,
    asInput: (role, label) => ({ role, label, kinds: [spec.kind], upstream: { params: schema } }),
  };
  if (waitingFor)
    kind.waitingFor = (cell) => {
      try {
        return waitingFor(schema.parse(cell.params));
      } catch {
        return undefined; // invalid params: the run reports them
      }
    };
  if (offline)
    kind.offline = (cell) => {
      const patch = offline(schema.read(cell.params));
      if (!patch) return undefined;
      const out: Record<string, ParamValue> = {};
      for (const [k, v] of Object.entries(patch)) if (v !== undefined) out[k] = v as ParamValue;
      return out;
    };
  if (run)
    kind.run = async (ctx) => {
      const params = schema.parse(ctx.cell.params);
      const inputs: Record<string, TypedResolvedInput<unknown, unknown>> = {};
      for (const input of spec.inputs) {
        const resolved = ctx.inputs[input.role];
        if (!resolved) throw new Error(`the ${input.label.toLowerCase()} input is not connected`);
        inputs[input.role] = {
          ...resolved,
          params: input.upstream.params.parse(resolved.cell.params),
          meta: resolved.result.meta,
        };
      }
      const result = await run({ ...ctx, params, inputs: inputs as TypedInputs<I> });
      // Plain JSON for the cache, reports and links (typed metas are interfaces, not Json).
      return { meta: JSON.parse(JSON.stringify(result.meta)) as Json, tables: result.tables };
    };
  return kind;
}
