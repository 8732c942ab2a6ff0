/**
 * SAE cell: train a sparse autoencoder on the model's activations at a hook (TopK, BatchTopK, ReLU,
 * JumpReLU or an ITDA dictionary), or import one in the SAELens layout, and evaluate it on the text's first
 * windows (held out from training). The run streams a point of the training curve per reported
 * step (live curves), can be paused, resumed and cancelled, and leaves the SAE in the worker under
 * the cell's id for the features cell. Its result carries the SAE's files, so after a reload the
 * SAE is uploaded again from the cache instead of being trained again.
 */
import { tableFromIPC } from 'apache-arrow';
import { option, optionSchema, type OptionsOf } from '../../../analyses/options';
import { collectableHookPoints, saeFilesFromTable } from '../../../analyses/sae/catalogue';
import type { TrainKind, TrainProgress } from '../../../analyses/sae/train';
import type { JobAnswer } from '../../../workers/runtime-client';
import type { ModelHandle, ModelShape } from '../../../workers/runtime-types';
import type { SaeSummary, SaeTrainRequest } from '../../../workers/sae-jobs';
import type { CellResult, Json } from '../../notebook/cell-runtime';
import { defineCellKind, type TypedResult, type TypedRunContext } from '../cell-kind';
import { hubProgress, MODEL_INPUT, pickedFiles, type PickedFile } from '../model/model-kind';
import { TEXT_INPUT } from '../text/text-kind';
import { saeLensFiles } from './sae-view';

export const SAE_KIND_CHOICES: readonly TrainKind[] = ['topk', 'batchtopk', 'relu', 'jumprelu', 'itda'];

export const SAE_KIND_LABELS: Record<TrainKind, string> = {
  topk: 'TopK (+AuxK)',
  batchtopk: 'BatchTopK (+AuxK)',
  relu: 'ReLU + L1',
  jumprelu: 'JumpReLU',
  itda: 'ITDA (no training)',
};

/** What the SAE cell's result meta is: the worker's summary. */
export type SaeCellMeta = SaeSummary;

export const SAE_SOURCES = ['train', 'import', 'hub'] as const;

/**
 * The SAE cell's params: where the SAE comes from and, for training, its kind and schedule (the
 * worker checks the numbers against the model again). Only the chosen source's fields are read.
 */
export const SAE_PARAMS = optionSchema({
  source: option.choice(SAE_SOURCES, 'train'),
  hubSae: option.string(''),
  /** Empty: the middle block's residual stream (train) or the file's own hook (import, hub). */
  hook: option.string(''),
  kind: option.choice(SAE_KIND_CHOICES, 'topk'),
  k: option.integer(16, { min: 1 }),
  expansion: option.number(8, { min: 0 }),
  steps: option.integer(400, { min: 1 }),
  batchSize: option.integer(512, { min: 1 }),
  lr: option.number(0.002, { min: 0 }),
  l1Coefficient: option.number(5, { min: 0 }),
  seed: option.integer(1, { min: 0 }),
  evalWindows: option.integer(2, { min: 1 }),
  files: option.json<PickedFile[]>([], pickedFiles),
});
export type SaeParams = OptionsOf<typeof SAE_PARAMS.fields>;

const SAE_INPUTS = [MODEL_INPUT, TEXT_INPUT] as const;
type SaeRun = TypedRunContext<SaeParams, typeof SAE_INPUTS>;

/** The hook a new cell trains at: the residual stream after the middle block. */
export function defaultHook(shape: Pick<ModelShape, 'nLayers'>): string {
  return `blocks.${Math.floor(shape.nLayers / 2)}.hook_resid_post`;
}

/**
 * The hook points the cell offers for a model (one f32 row per token): only those its architecture
 * has (`shape.blockHookPoints`; a shape saved before it lists them offers the Llama ones).
 */
export function hookChoices(
  shape: Pick<ModelShape, 'nLayers' | 'nExperts'> & { blockHookPoints?: readonly string[] },
): string[] {
  const all = collectableHookPoints({ nLayers: shape.nLayers, moe: shape.nExperts ? {} : null });
  const has = shape.blockHookPoints ? new Set(shape.blockHookPoints) : null;
  if (!has) return all;
  return all.filter((h) => {
    const point = /^blocks\.\d+\.(.+)$/.exec(h)?.[1];
    return point === undefined || has.has(point);
  });
}

/** `params.hook`, or the default for the model when it is empty. */
export function hookOf(hook: string, shape: Pick<ModelShape, 'nLayers'>): string {
  return hook.trim() || defaultHook(shape);
}

/** What a live run shows: the curve so far. */
export interface SaePartial {
  curve: TrainProgress[];
  /** Steps asked for. */
  total: number;
}

/** The phase line of a training run. */
export function trainPhase(
  p:
    | { phase: 'collect'; done: number; total: number }
    | { phase: 'train'; point: TrainProgress; total: number },
): string {
  return p.phase === 'collect'
    ? `Collecting activations: window ${p.done} of ${p.total}`
    : `Step ${p.point.step + 1} of ${p.total} · MSE ${p.point.mse.toPrecision(3)} · L0 ${p.point.l0.toFixed(1)}`;
}

/** The training request the params make (numbers checked again by the worker). */
export function trainRequest(
  cellId: string,
  params: SaeParams,
  text: { text: string; name: string },
  shape: ModelShape,
): SaeTrainRequest {
  const request: SaeTrainRequest = {
    cellId,
    text: text.text,
    fileName: text.name || 'text',
    hook: hookOf(params.hook, shape),
    kind: params.kind,
    k: params.k,
    expansion: params.expansion,
    steps: params.steps,
    batchSize: params.batchSize,
    lr: params.lr,
    seed: params.seed,
    evalWindows: params.evalWindows,
  };
  if (params.kind === 'relu' || params.kind === 'jumprelu') request.l1Coefficient = params.l1Coefficient;
  return request;
}

function resultOf(r: JobAnswer<'saeTrain' | 'saeImport' | 'saeHub'>): TypedResult<SaeSummary> {
  const tables: Record<string, Uint8Array> = {};
  if (r.tables.files) tables.files = r.tables.files;
  if (r.tables.curve) tables.curve = r.tables.curve;
  return { meta: r.summary, tables };
}

/**
 * Open the pretrained SAE the params name from the hub (workers/sae-hub.ts) with the download's
 * bytes, rate and time left as progress; a reload of a kept result opens it again (from the
 * browser cache) without evaluating it again. The endpoint and token are this browser's settings.
 */
async function runHub(ctx: SaeRun, model: ModelHandle, fileName: string): Promise<TypedResult<SaeSummary>> {
  const { cell, params, services, signal, progress } = ctx;
  const sae = params.hubSae.trim();
  const settings = services.hub?.();
  if (!settings) {
    throw new RangeError(`${sae} comes from the Hugging Face hub, which this run cannot reach`);
  }
  const restored = restoredSummary(ctx.restored);
  const reload = restored?.hub !== undefined;
  progress(undefined, reload ? 'Opening the kept SAE again…' : `Opening ${sae}…`);
  const hook = params.hook.trim();
  const r = await services.runtime.saeHub(
    {
      cellId: cell.id,
      sae,
      endpoint: settings.endpoint,
      ...(settings.token ? { token: settings.token } : {}),
      ...(hook ? { hook } : {}),
      text: reload ? '' : ctx.inputs.text.params.text,
      fileName,
      evalWindows: params.evalWindows,
      skipEvaluation: reload,
    },
    {
      signal,
      model: model.key,
      onProgress: (p) => {
        const [fraction, line] = hubProgress(p);
        progress(fraction, fraction === 1 ? 'Checking and evaluating…' : line);
      },
    },
  );
  if (reload) {
    // The evaluation is the restored one; the files' cache state is this load's.
    return { meta: { ...restored, saeId: r.summary.saeId, hub: r.summary.hub! }, tables: {} };
  }
  return resultOf(r);
}

/** A result restored for this cell (its cache or a report): this kind's own meta. */
function restoredSummary(restored: CellResult | undefined): SaeSummary | undefined {
  return saeKind.metaOf(restored);
}

export const saeKind = defineCellKind({
  kind: 'sae',
  title: 'SAE',
  description:
    'Train (TopK, BatchTopK, ReLU, JumpReLU, ITDA), import, or open a pretrained sparse autoencoder from the hub at a hook, and evaluate it',
  params: SAE_PARAMS,
  // The SAE lives in the worker (for the features cell); a restored result re-uploads its files.
  needsLive: true,
  pausable: true,
  inputs: SAE_INPUTS,
  waitingFor(params) {
    if (params.source === 'import' && params.files.length === 0)
      return 'pick the SAELens files: cfg.json and sae_weights.safetensors (or their zip)';
    if (params.source === 'hub' && !params.hubSae.trim())
      return 'give a Hugging Face SAE id or pick a release';
    return undefined;
  },
  async run(ctx: SaeRun): Promise<TypedResult<SaeSummary>> {
    const { cell, params, inputs, signal, services, progress } = ctx;
    const model = inputs.model.meta;
    const opts = { signal, model: model.key };
    const text = inputs.text.params;
    const fileName = text.name || 'text';
    if (params.source === 'hub') return runHub(ctx, model, fileName);
    const restored = restoredSummary(ctx.restored);
    if (restored && ctx.restored?.tables.files) {
      // A reload: upload the kept SAE again (its evaluation is in the restored meta).
      progress(undefined, 'Uploading the kept SAE…');
      const files = saeFilesFromTable(tableFromIPC(ctx.restored.tables.files));
      const r = await services.runtime.saeImport(
        { cellId: cell.id, text: '', files, skipEvaluation: true },
        opts,
      );
      return { meta: { ...restored, saeId: r.summary.saeId }, tables: ctx.restored.tables };
    }
    if (params.source === 'import') {
      const files: Record<string, Uint8Array> = {};
      for (const f of params.files) {
        const bytes = await services.getBlob(f.hash);
        if (!bytes) throw new RangeError(`${f.name} is not stored in this browser: pick the SAE files again`);
        Object.assign(files, saeLensFiles(f.name, bytes));
      }
      progress(undefined, 'Importing and evaluating…');
      const hook = params.hook.trim();
      const r = await services.runtime.saeImport(
        {
          cellId: cell.id,
          text: text.text,
          fileName,
          files,
          hook: hook || undefined,
          evalWindows: params.evalWindows,
        },
        opts,
      );
      return resultOf(r);
    }
    const request = trainRequest(cell.id, params, text, model.shape);
    const curve: TrainProgress[] = [];
    progress(0, 'Collecting activations…');
    const r = await services.runtime.saeTrain(request, {
      ...opts,
      waitIfPaused: ctx.waitIfPaused,
      onProgress: (p) => {
        if (p.phase === 'train') {
          curve.push(p.point);
          const partial: SaePartial = { curve, total: p.total };
          ctx.partial(JSON.parse(JSON.stringify(partial)) as Json);
          progress((p.point.step + 1) / p.total, trainPhase(p));
        } else progress(undefined, trainPhase(p));
      },
    });
    return resultOf(r);
  },
});
