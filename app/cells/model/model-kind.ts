/**
 * Model cell: a bundled model, a URL pair, files the user picked or dropped (kept in IndexedDB
 * by content hash so a reload can load them again), or a Hugging Face hub model by id
 * (`hf:ORG/NAME[@REV]`, loaded tensor by tensor in the worker, cached by the browser). Its run
 * loads the model into the worker under the cell's id; readers pass that key to the runtime.
 *
 * A hub model is recorded as its id (with revision) only: the endpoint and access token are this
 * browser's settings (app/state/hub-settings.ts), never part of the notebook.
 */
import type { ModelHandle, ModelFile } from '../../../workers/runtime-types';
import type { ParamValue } from '../../notebook/document';
import { hashBytes } from '../../notebook/hash';
import { fileNameOfUrl } from '../../state/format';
import type { CellResult } from '../../notebook/cell-runtime';
import type { CellKind, RunContext } from '../cell-kind';
import { normalizeHubId, type HubLoadProgress } from '../../../workers/hub-types';
import { BUNDLED_MODELS, bundledUrl, DEFAULT_BUNDLED } from './bundled';

/** A picked file as remembered in params (its bytes live in the blob store under `hash`). */
export interface PickedFile {
  name: string;
  hash: string;
  size: number;
}

export type ModelSourceKind = 'bundled' | 'url' | 'files' | 'hub';

export const modelKind: CellKind = {
  kind: 'model',
  title: 'Model',
  description: 'Load a model: bundled, from URLs, local files, or the Hugging Face hub',
  defaults: () => ({
    source: 'bundled',
    bundled: DEFAULT_BUNDLED,
    modelUrl: '',
    tokenizerUrl: '',
    files: [],
  }),
  inputs: [],
  needsLive: true,
  waitingFor(cell) {
    const p = cell.params;
    if (p.source === 'files' && !(Array.isArray(p.files) && p.files.length > 0))
      return 'pick a model and its tokenizer';
    if (p.source === 'url' && !(String(p.modelUrl ?? '').trim() && String(p.tokenizerUrl ?? '').trim()))
      return 'give a model URL and a tokenizer URL';
    if (p.source === 'hub' && !String(p.hubId ?? '').trim()) return 'give a Hugging Face model id';
    return undefined;
  },
  async run(ctx) {
    if (ctx.cell.params.source === 'hub') return runHub(ctx);
    const files = await modelFiles(ctx);
    ctx.progress(undefined, 'Parsing and uploading weights…');
    // Hashed before the upload: the worker may take (transfer) the buffers.
    const hashes = new Map<string, string>();
    for (const f of files) hashes.set(f.name, await hashBytes(new Uint8Array(f.bytes)));
    const { summary: loaded } = await ctx.services.runtime.load({ key: ctx.cell.id, files });
    ctx.signal.throwIfAborted();
    // The SHA-256 of what was loaded goes into reports' provenance.
    const fileHashes = {
      modelHash: hashes.get(loaded.modelName) ?? null,
      tokenizerHash: hashes.get(loaded.tokenizerName) ?? null,
    };
    return { meta: { ...loadedMeta(loaded), ...fileHashes }, tables: {} };
  },
};

/**
 * Load the hub model the params name, with the bytes, rate and time left as the cell's progress.
 * The signal cancels the transfer at once; the model loaded before stays in the worker.
 */
async function runHub(ctx: RunContext): Promise<CellResult> {
  const id = normalizeHubId(String(ctx.cell.params.hubId ?? ''));
  const settings = ctx.services.hub?.();
  if (!settings) {
    throw new RangeError(
      `${id} comes from the Hugging Face hub, which this run cannot reach; load the model from a folder instead`,
    );
  }
  ctx.progress(undefined, `Connecting to ${hostOf(settings.endpoint)}…`);
  const { summary: loaded } = await ctx.services.runtime.loadHub(
    {
      key: ctx.cell.id,
      id,
      endpoint: settings.endpoint,
      ...(settings.token ? { token: settings.token } : {}),
    },
    { signal: ctx.signal, onProgress: (p) => ctx.progress(...hubProgress(p)) },
  );
  ctx.signal.throwIfAborted();
  const weights = loaded.hub.files.filter((f) => f.file.endsWith('.safetensors'));
  // The hub's ETag of an LFS file is the SHA-256 of its content: the provenance hash, for one file.
  const sha = weights.length === 1 && /^[0-9a-f]{64}$/.test(weights[0]!.etag) ? weights[0]!.etag : null;
  return { meta: { ...loadedMeta(loaded), modelHash: sha, tokenizerHash: null }, tables: {} };
}

/** The cell's progress for a hub load: fraction, and a line with bytes, rate and time left. */
export function hubProgress(p: HubLoadProgress): [number | undefined, string] {
  if (p.phase === 'files') return [undefined, `Reading ${p.file}…`];
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const parts = [
    `${p.fromCache ? 'From the browser cache' : 'Downloading'} ${p.file}`,
    `${mb(p.done)} of ${mb(p.total)} MB`,
  ];
  if (p.bytesPerSecond) parts.push(`${mb(p.bytesPerSecond)} MB/s`);
  if (p.secondsLeft !== null && p.done < p.total) parts.push(`${formatSeconds(p.secondsLeft)} left`);
  return [p.total > 0 ? p.done / p.total : undefined, parts.join(' · ')];
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** What a model cell's result carries (and readers use): the worker key and the model's shape. */
export function loadedMeta(l: ModelHandle): { [k: string]: ParamValue } {
  return JSON.parse(JSON.stringify(l)) as { [k: string]: ParamValue };
}

/** The files to load, from whichever source the params name. */
async function modelFiles({ cell, services, signal, progress }: RunContext): Promise<ModelFile[]> {
  const p = cell.params;
  const source = String(p.source) as ModelSourceKind;
  if (source === 'files') {
    const picked = (p.files ?? []) as unknown as PickedFile[];
    if (picked.length === 0) throw new RangeError('no files picked: choose a model and its tokenizer');
    const out: ModelFile[] = [];
    for (const f of picked) {
      const bytes = await services.getBlob(f.hash);
      if (!bytes) {
        throw new RangeError(
          `${f.name} is not stored in this browser (opened from a link or file?): pick the files again`,
        );
      }
      out.push({ name: f.name, bytes: bytes.slice().buffer });
    }
    return out;
  }
  const urls =
    source === 'bundled'
      ? bundledFiles(String(p.bundled))
      : [String(p.modelUrl ?? '').trim(), String(p.tokenizerUrl ?? '').trim()].map((url) => ({
          url,
          name: fileNameOfUrl(url),
        }));
  if (source === 'url' && urls.some((u) => !u.url))
    throw new RangeError('give both a model URL and a tokenizer URL');
  const loaded = new Array<number>(urls.length).fill(0);
  const out: ModelFile[] = [];
  for (const [i, u] of urls.entries()) {
    const bytes = await services.fetchBytes(u.url, {
      signal,
      onProgress: ({ loaded: n }) => {
        loaded[i] = n;
        progress(
          undefined,
          `Downloading ${u.name}… ${(loaded.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB`,
        );
      },
    });
    out.push({ name: u.name, bytes });
  }
  return out;
}

function bundledFiles(id: string): { url: string; name: string }[] {
  const model = BUNDLED_MODELS.find((m) => m.id === id);
  if (!model)
    throw new RangeError(
      `unknown bundled model "${id}" (have: ${BUNDLED_MODELS.map((m) => m.id).join(', ')})`,
    );
  return model.files.map((name) => ({ url: bundledUrl(id, name), name }));
}
