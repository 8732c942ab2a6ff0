/**
 * A pretrained SAE opened by hub id (`hf:ORG/NAME[@REV]/PATH`) or by a release of the bundled
 * table ("GPT-2 small · res-jb · layer 8"), as the runtime worker runs it for the SAE cell: its
 * files come through the hub machinery the Model cell uses (runtime/sources/hub-files.ts: the
 * cache by ETag, Range requests with progress, the signal aborting every request at once), are
 * read by `loadPretrainedSae` with every convention of their format, checked against the loaded
 * model (hook and width, the error naming the file), evaluated on the text's held-out windows and
 * kept for the features cell like a trained SAE.
 *
 * The access token travels in the request, is sent as a header only, and is never kept, returned
 * or put into a message.
 */
import {
  adaptPretrainedToModel,
  checkPretrainedForModel,
  loadPretrainedSae,
} from '../analyses/sae/pretrained';
import { findRelease, releaseHubId } from '../analyses/sae/releases';
import { SAE_CONFIG_FILES, saeHubFolder, saeWeightCandidates } from '../analyses/sae/sae-folder';
import { CompatibilityError } from '../runtime/errors';
import { HookError } from '../runtime/hooks';
import type { LlamaModel, Tokenizer } from '../runtime/index';
import type { HubCache } from '../runtime/sources/hub-cache';
import { HubFetchError } from '../runtime/sources/hub-fetch';
import { readHubFile, type HubFilesOptions } from '../runtime/sources/hub-files';
import {
  formatHubId,
  hubFileUrl,
  HubIdError,
  isHubId,
  parseHubId,
  type HubId,
} from '../runtime/sources/hub-id';
import type { HubLoadedFile, HubLoadProgress } from '../runtime/sources/hub-model';
import {
  requestedEvaluation,
  summaryOf,
  transcoderSummary,
  type SaeStore,
  type SaeSummary,
} from './sae-jobs';

/** What the SAE cell asks to open from the hub. */
export interface SaeHubRequest {
  cellId: string;
  /** `hf:ORG/NAME[@REV]/PATH` (a folder or a file in it), or a release's id or label. */
  sae: string;
  /** The hub; default https://huggingface.co. */
  endpoint?: string;
  /** Access token for gated repositories: a request header only, never stored or returned. */
  token?: string;
  /** The hook the SAE reads, when its files do not say (params.npz) or to override them. */
  hook?: string;
  /** The text to evaluate on (held-out windows); '' skips the evaluation. */
  text: string;
  fileName?: string;
  evalWindows?: number;
  /** Only load (a reload of a result that already holds the evaluation). */
  skipEvaluation?: boolean;
}

/** Where a hub SAE came from and how it was read (JSON-safe). */
export interface SaeHubInfo {
  /** `hf:ORG/NAME[@REV]/FOLDER`. */
  id: string;
  /** The release's label, when it is one of the table's. */
  release?: string;
  format: string;
  architecture: string;
  /** Each convention honoured, as a sentence. */
  conventions: string[];
  files: HubLoadedFile[];
  notes: string[];
  /** Bytes of the files, and how many came over the network. */
  bytes: number;
  downloadedBytes: number;
  /** Neuronpedia `{model}/{sae}` when the SAE has pages there. */
  neuronpedia?: string;
}

/** The hub id a request names: the release's, or the id itself. */
export function saeHubId(sae: string): { id: HubId; release?: ReturnType<typeof findRelease> } {
  const text = sae.trim();
  const named = isHubId(text) ? undefined : findRelease(text);
  if (!named && !isHubId(text)) {
    throw new HubIdError(
      text,
      'not a hub id or a release of the table; expected hf:ORG/NAME[@REVISION]/PATH or a release such as gpt2-small-res-jb/blocks.8.hook_resid_pre',
    );
  }
  const id = parseHubId(named ? releaseHubId(named) : text);
  const release = named ?? findRelease(id);
  return release ? { id, release } : { id };
}

/**
 * The files of the SAE folder `id` names (configs first, a 404 meaning the format has none; then
 * the first weights file there is).
 *
 * @throws HubFetchError naming the URL (404 when the folder holds no SAE weights), ModelFormatError
 *   for a bad safetensors header.
 */
export async function readHubSae(
  id: HubId,
  o: HubFilesOptions,
): Promise<{
  files: Record<string, Uint8Array>;
  folder: HubId;
  read: HubLoadedFile[];
  notes: string[];
  downloaded: number;
}> {
  const { folder, named } = saeHubFolder(id);
  const files: Record<string, Uint8Array> = {};
  const read: HubLoadedFile[] = [];
  const notes: string[] = [];
  let downloaded = 0;
  const take = async (file: string): Promise<boolean> => {
    try {
      const r = await readHubFile(folder, file, o, notes);
      files[file] = r.bytes;
      read.push(r.file);
      downloaded += r.downloaded;
      return true;
    } catch (e) {
      if (e instanceof HubFetchError && e.status === 404) return false;
      throw e;
    }
  };
  for (const file of SAE_CONFIG_FILES) await take(file);
  const candidates = saeWeightCandidates(named, 'cfg.json' in files);
  for (const file of candidates) {
    if (await take(file)) return { files, folder, read, notes, downloaded };
  }
  throw new HubFetchError(
    hubFileUrl(o.endpoint?.trim() || 'https://huggingface.co', folder, candidates[0]!),
    `HTTP 404: no SAE weights in ${formatHubId(folder)} (looked for ${candidates.join(', ')})`,
    404,
  );
}

/**
 * Open the SAE the request names from the hub, check it against the model, evaluate it on the
 * held-out windows (unless told not to) and keep it under the cell's id.
 *
 * @throws HubIdError for an id that is neither; HubFetchError naming the URL; ModelFormatError
 *   naming the file; CompatibilityError naming the file when the SAE's hook or d_in
 *   does not fit the model (or it is a transcoder); an AbortError when `signal` fires.
 */
export async function saeHubJob(
  model: LlamaModel,
  tokenizer: Tokenizer,
  store: SaeStore,
  request: SaeHubRequest,
  opts: { signal?: AbortSignal; onProgress?: (p: HubLoadProgress) => void; cache?: HubCache | null } = {},
): Promise<{ summary: SaeSummary }> {
  const { id, release } = saeHubId(request.sae);
  const fetched = await readHubSae(id, {
    ...(request.endpoint ? { endpoint: request.endpoint } : {}),
    ...(request.token ? { token: request.token } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    cache: opts.cache ?? null,
  });
  const name = formatHubId(fetched.folder);
  const label = (f: string) => (f ? `${name}/${f}` : name);
  const hook = request.hook?.trim();
  let load = loadPretrainedSae(fetched.files, {
    ...(hook ? { hook } : {}),
    ...(release ? { release } : {}),
    location: { repo: id.repo, path: fetched.folder.path },
    label,
  });
  load = adaptPretrainedToModel(load, model.config);
  try {
    await checkPretrainedForModel(model, load, tokenizer.encode('', { bos: true }));
  } catch (e) {
    // A hook the model lacks: say which file (or release) named it, and how to pick another.
    if (!(e instanceof HookError)) throw e;
    const from = hook ? 'the Hook setting' : (load.info.files[0] ?? name);
    throw new CompatibilityError(
      from,
      `the SAE reads ${load.info.hookIn}, which this model does not have (${e.message}); choose the hook it should read in the Hook menu`,
    );
  }
  const { info } = load;
  let summary: SaeSummary;
  let neuronpedia: string | undefined;
  if (load.type === 'transcoder') {
    // Spliced in place of the MLP output it predicts, evaluated, and not kept (views read SAEs).
    summary = await transcoderSummary(model, tokenizer, load, request, opts.signal);
  } else {
    const { sae } = load;
    const evaluation = await requestedEvaluation(model, tokenizer, sae, request, opts.signal);
    opts.signal?.throwIfAborted();
    // No files in the result: a reload opens the SAE from the hub again (from the cache).
    const saeId = store.keep(request.cellId, { model, sae, kind: sae.cfg.kind });
    summary = summaryOf(saeId, sae, sae.cfg.kind, evaluation);
    neuronpedia = sae.source?.neuronpedia;
  }
  const hub: SaeHubInfo = {
    id: name,
    format: info.format,
    architecture: info.architecture,
    conventions: info.conventions,
    files: fetched.read,
    notes: fetched.notes,
    bytes: fetched.read.reduce((n, f) => n + f.size, 0),
    downloadedBytes: fetched.downloaded,
  };
  if (release) hub.release = release.label;
  if (neuronpedia) hub.neuronpedia = neuronpedia;
  summary.hub = hub;
  return { summary };
}
