/**
 * The SAE cell kind in Node against a fake runtime: the training request its params make, the live
 * curve it reports through `partial` with the pause gate passed to the worker, the import path
 * (picked files mapped to SAELens names), and a reload that re-uploads the kept files instead of
 * training; plus its view helpers (curve from a partial or a table, evaluation rows, density bins).
 */
import { tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { curveTable as trainCurveTable } from '../../../analyses/sae/train';
import type { CellServices, RunContext } from '../../../app/cells/cell-kind';
import { kindOf } from '../../../app/cells/kinds';
import {
  defaultHook,
  hookChoices,
  hookOf,
  SAE_KIND_CHOICES,
  SAE_KIND_LABELS,
  saeKind,
  trainPhase,
} from '../../../app/cells/sae/sae-kind';
import {
  curvePoints,
  curveTable,
  densityTable,
  evaluationRows,
  saeLensFiles,
  saeLensName,
} from '../../../app/cells/sae/sae-view';
import { zipSync } from 'fflate';
import type { CellResult, CellRuntime, Json } from '../../../app/notebook/cell-runtime';
import type { CellDoc } from '../../../app/notebook/document';
import type { JobAnswer } from '../../../workers/runtime-client';
import { saeFilesTable } from '../../../analyses/sae/catalogue';
import { type SaeImportRequest, type SaeSummary, type SaeTrainRequest } from '../../../workers/sae-jobs';

const shape = { nLayers: 5, nExperts: null, dim: 64 };
const summary = (over: Partial<SaeSummary> = {}): SaeSummary => ({
  saeId: 'sae#1',
  hook: 'blocks.2.hook_resid_post',
  kind: 'topk',
  dIn: 64,
  dSae: 512,
  k: 16,
  evaluation: {
    hook: 'blocks.2.hook_resid_post',
    d_in: 64,
    d_sae: 512,
    windows: 2,
    tokens: 1024,
    mse: 0.012,
    explained_variance: 0.93,
    l0: 16,
    dead_fraction: 0.01,
    dense_fraction: 0,
    loss_clean: 1.3,
    loss_spliced: 1.35,
    loss_zero_ablated: 3.1,
    loss_recovered: 0.97,
    ce_loss_score: 0.97,
    kl_div_with_sae: 0.02,
    kl_div_with_ablation: 1.9,
    kl_div_score: 0.99,
    density_histogram: { edges: [-3, -2, -1, 0], counts: [5, 100, 402], dead: 5 },
  },
  ...over,
});
const ipc = (t: Parameters<typeof tableToIPC>[0]) => tableToIPC(t, 'stream');
const filesBytes = () =>
  ipc(saeFilesTable({ 'cfg.json': new Uint8Array([1]), 'sae_weights.safetensors': new Uint8Array([2]) }));

function context(
  params: Record<string, unknown>,
  fake: Partial<CellServices['runtime']>,
  extra: Partial<RunContext> = {},
) {
  const cell: CellDoc = {
    id: 's1',
    kind: 'sae',
    params: { ...saeKind.defaults(), ...params } as CellDoc['params'],
    inputs: {},
  };
  const log: { progress: (string | undefined)[]; partial: Json[] } = { progress: [], partial: [] };
  const blobs = new Map([
    ['h1', new Uint8Array([7])],
    ['h2', new Uint8Array([8])],
  ]);
  const ctx: RunContext = {
    cell,
    inputs: {
      model: {
        cell: { id: 'm', kind: 'model', params: {}, inputs: {} },
        result: { meta: { key: 'm', shape } as unknown as Json, tables: {} },
      },
      text: {
        cell: {
          id: 't',
          kind: 'text',
          params: { text: 'Once upon a time', name: 'stories.txt' },
          inputs: {},
        },
        result: { meta: {}, tables: {} },
      },
    },
    signal: new AbortController().signal,
    progress: (_f, phase) => log.progress.push(phase),
    partial: (m) => log.partial.push(m),
    waitIfPaused: async () => {},
    services: {
      runtime: fake as CellServices['runtime'],
      backend: () => undefined,
      getBlob: async (h) => blobs.get(h),
      fetchBytes: async () => new ArrayBuffer(0),
    },
    ...extra,
  };
  return { ctx, log };
}

describe('SAE cell kind', () => {
  it('is registered, pausable and needs live worker state', () => {
    expect(kindOf('sae')).toBe(saeKind);
    expect(saeKind.pausable).toBe(true);
    expect(saeKind.needsLive).toBe(true);
  });

  it('offers collectable hooks and defaults to the middle residual stream', () => {
    expect(defaultHook(shape)).toBe('blocks.2.hook_resid_post');
    expect(hookOf('', shape)).toBe('blocks.2.hook_resid_post');
    expect(hookOf(' blocks.0.hook_mlp_out ', shape)).toBe('blocks.0.hook_mlp_out');
    const hooks = hookChoices(shape);
    expect(hooks).toContain('blocks.4.hook_resid_post');
    expect(hooks.some((h) => h.includes('hook_pattern'))).toBe(false);
    expect(hookChoices({ nLayers: 1, nExperts: 4 }).some((h) => h.includes('moe'))).toBe(true);
  });

  it('trains with the params, reports the live curve and passes the pause gate to the worker', async () => {
    let seen: { request?: SaeTrainRequest; gate?: unknown } = {};
    const gate = async () => {};
    const fake = {
      saeTrain: async (
        request: SaeTrainRequest,
        o?: { onProgress?: (p: never) => void; waitIfPaused?: () => Promise<void> },
      ) => {
        seen = { request, gate: o?.waitIfPaused };
        o?.onProgress?.({ phase: 'collect', done: 1, total: 4 } as never);
        for (let step = 0; step < 3; step++)
          o?.onProgress?.({
            phase: 'train',
            total: 3,
            point: { step, loss: 1 / (step + 1), mse: 0.1, l0: 16, deadFraction: 0 },
          } as never);
        return {
          summary: summary(),
          tables: { files: filesBytes(), curve: new Uint8Array([1]) },
        } satisfies JobAnswer<'saeTrain'>;
      },
    };
    const { ctx, log } = context({ kind: 'relu', l1Coefficient: 0.3, steps: 3 }, fake, {
      waitIfPaused: gate,
    });
    const r = await saeKind.run!(ctx);
    expect(seen.request).toMatchObject({
      cellId: 's1',
      hook: 'blocks.2.hook_resid_post',
      kind: 'relu',
      l1Coefficient: 0.3,
      steps: 3,
      fileName: 'stories.txt',
      text: 'Once upon a time',
    });
    expect(seen.gate).toBe(gate);
    expect(log.partial).toHaveLength(3);
    expect((log.partial[2] as { curve: unknown[]; total: number }).curve).toHaveLength(3);
    expect(log.progress).toContain('Collecting activations: window 1 of 4');
    expect(log.progress.at(-1)).toMatch(/^Step 3 of 3/);
    expect(Object.keys(r.tables).sort()).toEqual(['curve', 'files']);
    expect((r.meta as unknown as SaeSummary).evaluation!.l0).toBe(16);
  });

  it('topk sends k and no λ; an unknown kind is refused', async () => {
    let request: SaeTrainRequest | undefined;
    const fake = {
      saeTrain: async (r: SaeTrainRequest) => {
        request = r;
        return { summary: summary(), tables: { files: filesBytes() } };
      },
    };
    await saeKind.run!(context({ kind: 'topk', k: 8 }, fake).ctx);
    expect(request).toMatchObject({ kind: 'topk', k: 8 });
    expect(request!.l1Coefficient).toBeUndefined();
    await expect(saeKind.run!(context({ kind: 'gated' }, fake).ctx)).rejects.toThrow(
      /^kind: expected one of topk, batchtopk, relu, jumprelu, itda, got "gated"/,
    );
  });

  it('offers BatchTopK, which sends k and no λ', async () => {
    expect(SAE_KIND_CHOICES).toContain('batchtopk');
    expect(SAE_KIND_LABELS.batchtopk).toBe('BatchTopK (+AuxK)');
    let request: SaeTrainRequest | undefined;
    const fake = {
      saeTrain: async (r: SaeTrainRequest) => {
        request = r;
        return { summary: summary({ kind: 'batchtopk', k: 12 }), tables: { files: filesBytes() } };
      },
    };
    const result = await saeKind.run!(context({ kind: 'batchtopk', k: 12, l1Coefficient: 3 }, fake).ctx);
    expect(request).toMatchObject({ kind: 'batchtopk', k: 12 });
    expect(request!.l1Coefficient).toBeUndefined();
    expect(result.meta).toMatchObject({ kind: 'batchtopk', k: 12 });
  });

  it('imports picked files under their SAELens names', async () => {
    let request: SaeImportRequest | undefined;
    const fake = {
      saeImport: async (r: SaeImportRequest) => {
        request = r;
        return { summary: summary(), tables: { files: filesBytes() } };
      },
    };
    const files = [
      { name: 'my-sae-cfg.json', hash: 'h1', size: 1 },
      { name: 'weights (1).safetensors', hash: 'h2', size: 1 },
    ];
    expect(
      saeKind.waitingFor!({ id: 's', kind: 'sae', params: { source: 'import', files: [] }, inputs: {} }),
    ).toMatch(/cfg\.json/);
    // One picked zip is enough to start.
    const zipOnly = { source: 'import', files: [{ name: 'sae.zip', hash: 'h', size: 1 }] };
    expect(saeKind.waitingFor!({ id: 's', kind: 'sae', params: zipOnly, inputs: {} })).toBeUndefined();
    await saeKind.run!(context({ source: 'import', files }, fake).ctx);
    expect(Object.keys(request!.files).sort()).toEqual(['cfg.json', 'sae_weights.safetensors']);
    expect(request!.files['cfg.json']).toEqual(new Uint8Array([7]));
    expect(request!.hook).toBeUndefined();
    expect(request!.skipEvaluation).toBeUndefined();
    const missing = context({ source: 'import', files: [{ name: 'cfg.json', hash: 'gone', size: 1 }] }, fake);
    await expect(saeKind.run!(missing.ctx)).rejects.toThrow(/cfg\.json is not stored in this browser/);
  });

  it('after a reload re-uploads the kept files without training, with the new SAE id', async () => {
    let request: SaeImportRequest | undefined;
    const fake = {
      saeTrain: async () => {
        throw new Error('must not train');
      },
      saeImport: async (r: SaeImportRequest) => {
        request = r;
        return {
          summary: summary({ saeId: 'sae#2', evaluation: undefined }),
          tables: { files: r.files as never },
        };
      },
    };
    const restored: CellResult = {
      meta: summary() as unknown as Json,
      tables: { files: filesBytes(), curve: new Uint8Array([9]) },
    };
    const r = await saeKind.run!(context({}, fake, { restored }).ctx);
    expect(request!.skipEvaluation).toBe(true);
    expect(Object.keys(request!.files).sort()).toEqual(['cfg.json', 'sae_weights.safetensors']);
    expect((r.meta as unknown as SaeSummary).saeId).toBe('sae#2');
    // The evaluation and the curve come from the kept result.
    expect((r.meta as unknown as SaeSummary).evaluation!.explained_variance).toBe(0.93);
    expect(r.tables.curve).toEqual(new Uint8Array([9]));
  });

  it('view helpers: curve from the partial while running, else from the table', () => {
    const pts = [0, 1, 2].map((step) => ({
      step,
      loss: 3 - step,
      mse: 0.5,
      l0: 10 + step,
      deadFraction: 0.1 * step,
    }));
    const running: CellRuntime = { status: 'running', partial: { curve: pts, total: 5 } as unknown as Json };
    expect(curvePoints(running)).toEqual(pts);
    const done: CellRuntime = {
      status: 'done',
      result: { meta: {}, tables: { curve: ipc(trainCurveTable(pts)) } },
    };
    const back = curvePoints(done);
    expect(back.map((p) => p.l0)).toEqual([10, 11, 12]);
    expect(back[2]!.deadFraction).toBeCloseTo(0.2, 6);
    expect(curvePoints({ status: 'idle' })).toEqual([]);
    const t = curveTable(pts, 'dead_fraction');
    expect(t.schema.fields.map((f) => f.name)).toEqual(['step', 'dead_fraction']);
    expect(Array.from(t.getChild('dead_fraction')!.toArray() as Float64Array)).toEqual([0, 0.1, 0.2]);
    expect(trainPhase({ phase: 'train', total: 10, point: pts[1]! })).toBe(
      'Step 2 of 10 · MSE 0.500 · L0 11.0',
    );
  });

  it('view helpers: evaluation rows, density bins and SAELens names', () => {
    const rows = evaluationRows(summary());
    expect(rows.map((r) => r.key)).toEqual([
      'explained_variance',
      'mse',
      'l0',
      'dead_fraction',
      'dense_fraction',
      'loss_clean',
      'loss_spliced',
      'loss_zero_ablated',
      'loss_recovered',
      'kl_div_score',
    ]);
    expect(rows.find((r) => r.key === 'loss_recovered')!.value).toBe('97.0%');
    expect(evaluationRows(summary({ evaluation: undefined }))).toEqual([]);
    const d = densityTable(summary())!;
    expect(d.numRows).toBe(3);
    expect(Array.from(d.getChild('x1')!.toArray() as Float64Array)).toEqual([-2, -1, 0]);
    expect(saeLensName('SAE_WEIGHTS.safetensors')).toBe('sae_weights.safetensors');
    expect(saeLensName('config.json')).toBe('cfg.json');
    expect(saeLensName('itda.json')).toBe('itda.json');
    const zip = zipSync({
      'sae/cfg.json': new Uint8Array([1]),
      'sae/sae_weights.safetensors': new Uint8Array([2]),
    });
    expect(saeLensFiles('sae-topk.zip', zip)).toEqual({
      'cfg.json': new Uint8Array([1]),
      'sae_weights.safetensors': new Uint8Array([2]),
    });
    expect(() => saeLensFiles('broken.zip', new Uint8Array([1, 2, 3]))).toThrow(
      /broken\.zip: not a readable zip/,
    );
  });
});
