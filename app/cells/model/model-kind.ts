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
import { option, optionSchema, OptionError, type OptionsOf } from '../../../analyses/options';
import { hashBytes } from '../../notebook/hash';
import { fileNameOfUrl } from '../../state/format';
import { defineCellKind, type TypedResult, type TypedRunContext } from '../cell-kind';
import { normalizeHubId, type HubLoadProgress, type HubModelHandle } from '../../../workers/hub-types';
import { BUNDLED_MODELS, bundledUrl, DEFAULT_BUNDLED } from './bundled';

/** A picked file as remembered in params (its bytes live in the blob store under `hash`). */
export type PickedFile = {
  name: string;
  hash: string;
  size: number;
};

export const MODEL_SOURCES = ['bundled', 'url', 'files', 'hub'] as const;
export type ModelSourceKind = (typeof MODEL_SOURCES)[number];

/** Picked files as params record them; anything else is named as the problem. */
export function pickedFiles(raw: unknown, name: string): PickedFile[] {
  if (!Array.isArray(raw)) throw new OptionError(name, 'expected a list of picked files');
  return raw.map((f, i) => {
    const ok =
      typeof f === 'object' &&
      f !== null &&
      typeof f.name === 'string' &&
      typeof f.hash === 'string' &&
      typeof f.size === 'number';
    if (!ok) throw new OptionError(`${name}[${i}]`, 'expected {name, hash, size}');
    return { name: f.name, hash: f.hash, size: f.size };
  });
}

/** Where the model comes from; only the fields of the chosen source are read. */
export const MODEL_PARAMS = optionSchema({
  source: option.choice(MODEL_SOURCES, 'bundled'),
  bundled: option.string(DEFAULT_BUNDLED),
  modelUrl: option.string(''),
  tokenizerUrl: option.string(''),
  files: option.json<PickedFile[]>([], pickedFiles),
  hubId: option.string(''),
});
export type ModelParams = OptionsOf<typeof MODEL_PARAMS.fields>;

/** A model cell's result: the worker key, the model's shape, and the hashes of what was loaded. */
export interface ModelMeta extends ModelHandle {
  modelHash: string | null;
  tokenizerHash: string | null;
  /** A hub load's files, where they came from and the notes (hub models only). */
  hub?: HubModelHandle['hub'];
}

type ModelRun = TypedRunContext<ModelParams, readonly []>;

export const modelKind = defineCellKind({
  kind: 'model',
  title: 'Model',
  description: 'Load a model: bundled, from URLs, local files, or the Hugging Face hub',
  params: MODEL_PARAMS,
  inputs: [],
  needsLive: true,
  waitingFor(p) {
    if (p.source === 'files' && p.files.length === 0) return 'pick a model and its tokenizer';
    if (p.source === 'url' && !(p.modelUrl.trim() && p.tokenizerUrl.trim()))
      return 'give a model URL and a tokenizer URL';
    if (p.source === 'hub' && !p.hubId.trim()) return 'give a Hugging Face model id';
    return undefined;
  },
  // Opened from a file, the page cannot fetch bundled models or URLs: the user picks the files.
  offline: (p) => (p.source === 'files' ? undefined : { source: 'files', files: [] }),
  async run(ctx): Promise<TypedResult<ModelMeta>> {
    if (ctx.params.source === 'hub') return runHub(ctx);
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
    return { meta: { ...loaded, ...fileHashes }, tables: {} };
  },
});

/** The model input of an analysis cell. */
export const MODEL_INPUT = modelKind.asInput('model', 'Model');

/**
 * Load the hub model the params name, with the bytes, rate and time left as the cell's progress.
 * The signal cancels the transfer at once; the model loaded before stays in the worker.
 */
async function runHub(ctx: ModelRun): Promise<TypedResult<ModelMeta>> {
  const id = normalizeHubId(ctx.params.hubId);
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
  return { meta: { ...loaded, modelHash: sha, tokenizerHash: null }, tables: {} };
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

/** The files to load, from whichever source the params name. */
async function modelFiles({ params: p, services, signal, progress }: ModelRun): Promise<ModelFile[]> {
  const source = p.source;
  if (source === 'files') {
    const picked = p.files;
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
      ? bundledFiles(p.bundled)
      : [p.modelUrl.trim(), p.tokenizerUrl.trim()].map((url) => ({
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
