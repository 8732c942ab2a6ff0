/**
 * SAE cell: train a sparse autoencoder on the model's activations at a hook (TopK, BatchTopK, ReLU,
 * JumpReLU or an ITDA dictionary), or import one in the SAELens layout, and evaluate it on the text's first
 * windows (held out from training). The run streams a point of the training curve per reported
 * step (live curves), can be paused, resumed and cancelled, and leaves the SAE in the worker under
 * the cell's id for the features cell. Its result carries the SAE's files, so after a reload the
 * SAE is uploaded again from the cache instead of being trained again.
 */
import { tableFromIPC } from 'apache-arrow';
import { collectableHookPoints, saeFilesFromTable } from '../../../analyses/sae/catalogue';
import type { TrainKind, TrainProgress } from '../../../analyses/sae/train';
import type { JobAnswer } from '../../../workers/runtime-client';
import type { ModelHandle, ModelShape } from '../../../workers/runtime-types';
import type { SaeSummary, SaeTrainRequest } from '../../../workers/sae-jobs';
import type { CellResult, Json } from '../../notebook/cell-runtime';
import type { CellKind, RunContext } from '../cell-kind';
import { hubProgress, type PickedFile } from '../model/model-kind';
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
export function hookOf(hook: unknown, shape: Pick<ModelShape, 'nLayers'>): string {
  const h = String(hook ?? '').trim();
  return h || defaultHook(shape);
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

/** The training request the params make (numbers checked by the worker). */
export function trainRequest(ctx: Pick<RunContext, 'cell' | 'inputs'>, shape: ModelShape): SaeTrainRequest {
  const { cell, inputs } = ctx;
  const p = cell.params;
  const kind = String(p.kind) as TrainKind;
  if (!SAE_KIND_CHOICES.includes(kind)) throw new RangeError(`unknown SAE kind "${String(p.kind)}"`);
  const { text, name } = inputs.text!.cell.params;
  const request: SaeTrainRequest = {
    cellId: cell.id,
    text: String(text ?? ''),
    fileName: String(name || 'text'),
    hook: hookOf(p.hook, shape),
    kind,
    k: Number(p.k),
    expansion: Number(p.expansion),
    steps: Number(p.steps),
    batchSize: Number(p.batchSize),
    lr: Number(p.lr),
    seed: Number(p.seed),
    evalWindows: Number(p.evalWindows),
  };
  if (kind === 'relu' || kind === 'jumprelu') request.l1Coefficient = Number(p.l1Coefficient);
  return request;
}

function resultOf(r: JobAnswer<'saeTrain' | 'saeImport' | 'saeHub'>): CellResult {
  const tables: Record<string, Uint8Array> = {};
  if (r.tables.files) tables.files = r.tables.files;
  if (r.tables.curve) tables.curve = r.tables.curve;
  return { meta: JSON.parse(JSON.stringify(r.summary)) as Json, tables };
}

/**
 * Open the pretrained SAE the params name from the hub (workers/sae-hub.ts) with the download's
 * bytes, rate and time left as progress; a reload of a kept result opens it again (from the
 * browser cache) without evaluating it again. The endpoint and token are this browser's settings.
 */
async function runHub(ctx: RunContext, model: ModelHandle, fileName: string): Promise<CellResult> {
  const { cell, services, signal, progress } = ctx;
  const sae = String(cell.params.hubSae ?? '').trim();
  const settings = services.hub?.();
  if (!settings) {
    throw new RangeError(`${sae} comes from the Hugging Face hub, which this run cannot reach`);
  }
  const restored = ctx.restored?.meta as unknown as SaeSummary | undefined;
  const reload = restored?.hub !== undefined;
  progress(undefined, reload ? 'Opening the kept SAE again…' : `Opening ${sae}…`);
  const hook = String(cell.params.hook ?? '').trim();
  const r = await services.runtime.saeHub(
    {
      cellId: cell.id,
      sae,
      endpoint: settings.endpoint,
      ...(settings.token ? { token: settings.token } : {}),
      ...(hook ? { hook } : {}),
      text: reload ? '' : String(ctx.inputs.text!.cell.params.text ?? ''),
      fileName,
      evalWindows: Number(cell.params.evalWindows),
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
    const meta: SaeSummary = { ...restored, saeId: r.summary.saeId, hub: r.summary.hub! };
    return { meta: JSON.parse(JSON.stringify(meta)) as Json, tables: {} };
  }
  return resultOf(r);
}

export const saeKind: CellKind = {
  kind: 'sae',
  title: 'SAE',
  description:
    'Train (TopK, BatchTopK, ReLU, JumpReLU, ITDA), import, or open a pretrained sparse autoencoder from the hub at a hook, and evaluate it',
  defaults: () => ({
    source: 'train',
    hubSae: '',
    hook: '',
    kind: 'topk',
    k: 16,
    expansion: 8,
    steps: 400,
    batchSize: 512,
    lr: 0.002,
    l1Coefficient: 5,
    seed: 1,
    evalWindows: 2,
    files: [],
  }),
  // The SAE lives in the worker (for the features cell); a restored result re-uploads its files.
  needsLive: true,
  pausable: true,
  inputs: [
    { role: 'model', label: 'Model', kinds: ['model'] },
    { role: 'text', label: 'Text', kinds: ['text'] },
  ],
  waitingFor(cell) {
    if (
      cell.params.source === 'import' &&
      !(Array.isArray(cell.params.files) && cell.params.files.length >= 1)
    )
      return 'pick the SAELens files: cfg.json and sae_weights.safetensors (or their zip)';
    if (cell.params.source === 'hub' && !String(cell.params.hubSae ?? '').trim())
      return 'give a Hugging Face SAE id or pick a release';
    return undefined;
  },
  async run(ctx) {
    const { cell, inputs, signal, services, progress } = ctx;
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const opts = { signal, model: model.key };
    const { text, name } = inputs.text!.cell.params;
    const fileName = String(name || 'text');
    if (cell.params.source === 'hub') return runHub(ctx, model, fileName);
    if (ctx.restored?.tables.files) {
      // A reload: upload the kept SAE again (its evaluation is in the restored meta).
      progress(undefined, 'Uploading the kept SAE…');
      const files = saeFilesFromTable(tableFromIPC(ctx.restored.tables.files));
      const r = await services.runtime.saeImport(
        { cellId: cell.id, text: '', files, skipEvaluation: true },
        opts,
      );
      const meta = { ...(ctx.restored.meta as unknown as SaeSummary), saeId: r.summary.saeId };
      return { meta: JSON.parse(JSON.stringify(meta)) as Json, tables: ctx.restored.tables };
    }
    if (cell.params.source === 'import') {
      const picked = (cell.params.files ?? []) as unknown as PickedFile[];
      const files: Record<string, Uint8Array> = {};
      for (const f of picked) {
        const bytes = await services.getBlob(f.hash);
        if (!bytes) throw new RangeError(`${f.name} is not stored in this browser: pick the SAE files again`);
        Object.assign(files, saeLensFiles(f.name, bytes));
      }
      progress(undefined, 'Importing and evaluating…');
      const hook = String(cell.params.hook ?? '').trim();
      const r = await services.runtime.saeImport(
        {
          cellId: cell.id,
          text: String(text ?? ''),
          fileName,
          files,
          hook: hook || undefined,
          evalWindows: Number(cell.params.evalWindows),
        },
        opts,
      );
      return resultOf(r);
    }
    const request = trainRequest(ctx, model.shape);
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
};
