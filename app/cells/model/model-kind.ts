/**
 * Model cell: a bundled model, a URL pair, or files the user picked or dropped (kept in IndexedDB
 * by content hash so a reload can load them again). Its run loads the model into the worker under
 * the cell's id; readers pass that key to the runtime.
 */
import type { LoadedModel, ModelFile } from '../../../workers/runtime-types';
import type { ParamValue } from '../../notebook/document';
import { hashBytes } from '../../notebook/hash';
import { fileNameOfUrl } from '../../state/format';
import type { CellKind, RunContext } from '../cell-kind';
import { BUNDLED_MODELS, bundledUrl, DEFAULT_BUNDLED } from './bundled';

/** A picked file as remembered in params (its bytes live in the blob store under `hash`). */
export interface PickedFile {
  name: string;
  hash: string;
  size: number;
}

export type ModelSourceKind = 'bundled' | 'url' | 'files';

export const modelKind: CellKind = {
  kind: 'model',
  title: 'Model',
  description: 'Load a model: bundled, from URLs, or local files',
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
    return undefined;
  },
  async run(ctx) {
    const files = await modelFiles(ctx);
    ctx.progress(undefined, 'Parsing and uploading weights…');
    // Hashed before the upload: the worker may take (transfer) the buffers.
    const hashes = new Map<string, string>();
    for (const f of files) hashes.set(f.name, await hashBytes(new Uint8Array(f.bytes)));
    const loaded: LoadedModel = await ctx.services.runtime.load({ key: ctx.cell.id, files });
    ctx.signal.throwIfAborted();
    // The SHA-256 of what was loaded goes into reports' provenance.
    const fileHashes = {
      modelHash: hashes.get(loaded.modelName) ?? null,
      tokenizerHash: hashes.get(loaded.tokenizerName) ?? null,
    };
    return { meta: { ...loadedMeta(loaded), ...fileHashes }, tables: {} };
  },
};

/** What a model cell's result carries (and readers use): the worker key and the model's shape. */
export function loadedMeta(l: LoadedModel): { [k: string]: ParamValue } {
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
