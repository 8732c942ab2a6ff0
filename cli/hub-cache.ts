/**
 * Node: bring a hub model's files into the local cache and hand back the folder, so the CLI loads
 * `hf:ORG/NAME[@REV]` exactly as it loads a local folder (the weights then read lazily from disk).
 *
 * Cache: `$SPARSEBOOK_CACHE` (default `~/.cache/sparsebook`)/hub/ORG/NAME/REVISION/FILE, each file
 * with a `FILE.etag` beside it. A file is re-downloaded only when the hub's ETag differs (a new
 * upload), so a second load downloads no weights. Safetensors files come by Range requests: the
 * header first (validated, at most 100 MB), then the tensors in chunks, several at a time, written
 * at their offsets into `FILE.partial`, renamed into place only when complete: a failed or
 * truncated download never leaves a file that a later load would use.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { SAE_CONFIG_FILES, saeHubFolder, saeWeightCandidates } from '../analyses/sae/sae-folder';
import { readSafetensorsHeader, shardNames } from '../runtime/sources/hub-safetensors';
import {
  fetchFile,
  fetchRange,
  HubFetchError,
  remoteFileInfo,
  streamFile,
  type HubFetchOptions,
  type RemoteFileInfo,
} from '../runtime/sources/hub-fetch';
import { DEFAULT_HF_ENDPOINT, hubFileUrl, type HubId } from '../runtime/sources/hub-id';

/** Largest Range request for tensor data; adjacent tensors are fetched together up to it. */
const CHUNK_BYTES = 16 << 20;
/** Range requests in flight at once. */
const PARALLEL = 4;

export interface HubResolveOptions extends HubFetchOptions {
  endpoint?: string;
  cacheDir?: string;
  /** Progress and notes for the user (never the token). */
  log?: (line: string) => void;
}

/** The cache folder: SPARSEBOOK_CACHE, else ~/.cache/sparsebook. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.SPARSEBOOK_CACHE || path.join(homedir(), '.cache', 'sparsebook');
}

/**
 * Download (or find in the cache) the files of a hub model and return the local folder holding
 * them: config.json, the weights (model.safetensors, or the shards model.safetensors.index.json
 * names), tokenizer.json and tokenizer_config.json when the repository has them.
 *
 * @example
 * const dir = await resolveHubModel(parseHubId('hf:openai-community/gpt2'), { token: process.env.HF_TOKEN });
 * @throws HubFetchError naming the URL (404, gated, truncated download), ModelFormatError for a bad
 *   index or safetensors header.
 */
export async function resolveHubModel(id: HubId, o: HubResolveOptions = {}): Promise<string> {
  const endpoint = o.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT;
  const dir = path.join(
    o.cacheDir ?? cacheRoot(),
    'hub',
    ...id.repo.split('/'),
    id.revision,
    ...(id.path ? id.path.split('/') : []),
  );
  mkdirSync(dir, { recursive: true });
  const url = (file: string) => hubFileUrl(endpoint, id, file);
  const cached = (file: string) => cachedFile(dir, file);

  await small(url('config.json'), cached('config.json'), o);
  for (const optional of ['tokenizer.json', 'tokenizer_config.json']) {
    await small(url(optional), cached(optional), o).catch((e: unknown) => {
      if (!(e instanceof HubFetchError && e.status === 404)) throw e;
    });
  }
  let weights = ['model.safetensors'];
  const single = await remoteFileInfo(url('model.safetensors'), o).catch((e: unknown) => {
    if (e instanceof HubFetchError && e.status === 404) return null;
    throw e;
  });
  if (!single) {
    const index = cached('model.safetensors.index.json');
    await small(url('model.safetensors.index.json'), index, o);
    weights = shardNames(readFileSync(index.path), 'model.safetensors.index.json');
  }
  for (const file of weights) {
    const info = file === 'model.safetensors' && single ? single : await remoteFileInfo(url(file), o);
    await safetensors(info, cached(file), file, o);
  }
  return dir;
}

interface CachedFile {
  path: string;
  /** The ETag the cached copy was downloaded under, or null when there is none. */
  etag: string | null;
  store(etag: string): void;
}

function cachedFile(dir: string, file: string): CachedFile {
  const p = path.join(dir, file);
  const etagFile = `${p}.etag`;
  return {
    path: p,
    etag: existsSync(p) && existsSync(etagFile) ? readFileSync(etagFile, 'utf8') : null,
    store: (etag) => writeFileSync(etagFile, etag),
  };
}

/** A small file: kept when the hub's ETag matches the cached one, else fetched whole. */
async function small(url: string, c: CachedFile, o: HubResolveOptions): Promise<void> {
  if (c.etag !== null) {
    const { etag } = await remoteFileInfo(url, o);
    if (etag === c.etag) return;
  }
  const { bytes, etag } = await fetchFile(url, o);
  const partial = `${c.path}.${randomBytes(4).toString('hex')}.partial`;
  writeFileSync(partial, bytes);
  renameSync(partial, c.path);
  c.store(etag);
}

/** A weights file: kept when its ETag matches; else its header, then its tensors, by range. */
async function safetensors(
  info: RemoteFileInfo,
  c: CachedFile,
  fileName: string,
  o: HubResolveOptions,
): Promise<void> {
  await cachedDownload(info, c, fileName, o, async (fd) => {
    if (info.ranges) return rangedDownload(info, fd, fileName, o);
    o.log?.(`note: the server does not support Range requests; ${fileName} comes as one streamed download`);
    return streamInto(info, fd, o);
  });
}

/** The whole file streamed into fd at its offsets. */
function streamInto(info: RemoteFileInfo, fd: number, o: HubResolveOptions): Promise<void> {
  return streamFile(
    info.url,
    info.size,
    (chunk, offset) => void writeSync(fd, chunk, 0, chunk.byteLength, offset),
    o,
  );
}

/**
 * Keep the cached copy when its ETag matches the hub's; else `fill` a `.partial` file, renamed into
 * place (with its ETag) only when complete, and removed on any failure.
 */
async function cachedDownload(
  info: RemoteFileInfo,
  c: CachedFile,
  fileName: string,
  o: HubResolveOptions,
  fill: (fd: number) => Promise<void>,
): Promise<void> {
  if (c.etag !== null && c.etag === info.etag) {
    o.log?.(`${fileName}: in the cache`);
    return;
  }
  const partial = `${c.path}.${randomBytes(4).toString('hex')}.partial`;
  const fd = openSync(partial, 'w');
  const t0 = Date.now();
  try {
    await fill(fd);
    closeSync(fd);
    renameSync(partial, c.path);
    c.store(info.etag);
    const s = (Date.now() - t0) / 1000;
    o.log?.(`${fileName}: ${(info.size / 2 ** 20).toFixed(1)} MiB in ${s.toFixed(1)} s`);
  } catch (e) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw e;
  }
}

/** Header (validated before any tensor is fetched), then the tensor data in parallel chunks. */
async function rangedDownload(
  info: RemoteFileInfo,
  fd: number,
  fileName: string,
  o: HubResolveOptions,
): Promise<void> {
  const {
    file: st,
    prefix,
    dataStart,
  } = await readSafetensorsHeader((begin, end) => fetchRange(info.url, begin, end, o), info.size, fileName);
  writeSync(fd, prefix, 0, prefix.byteLength, 0);
  const chunks: [number, number][] = [];
  for (let begin = dataStart; begin < info.size; begin += CHUNK_BYTES)
    chunks.push([begin, Math.min(info.size, begin + CHUNK_BYTES)]);
  let done = 0;
  let next = 0;
  let shown = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const [begin, end] = chunks[next++]!;
      const bytes = await fetchRange(info.url, begin, end, o);
      writeSync(fd, bytes, 0, bytes.byteLength, begin);
      done += bytes.byteLength;
      const percent = Math.floor((100 * (dataStart + done)) / info.size / 10) * 10;
      if (percent > shown && percent < 100) o.log?.(`${fileName}: ${(shown = percent)}%`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, chunks.length) }, worker));
  if (st.tensors.size === 0) o.log?.(`note: ${fileName} holds no tensors`);
}

/**
 * Download (or find in the cache) a pretrained SAE's files: `hf:ORG/NAME[@REV]/PATH` names a
 * folder (SAELens cfg.json + sae_weights.safetensors, sparsify cfg.json + sae.safetensors, Gemma
 * Scope params.npz, Gemma Scope 2 params.safetensors [+ config.json]) or one of those files.
 * Caching is as for models (ETag per file; safetensors by Range with the header checked first).
 *
 * @example
 * const { dir, files } = await resolveHubSae(parseHubId('hf:jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre'));
 * // files: ['cfg.json', 'sae_weights.safetensors']
 * @throws HubFetchError naming the URL (404 when the folder holds no SAE weights, gated, truncated).
 */
export async function resolveHubSae(
  id: HubId,
  o: HubResolveOptions = {},
): Promise<{ dir: string; files: string[]; folder: HubId }> {
  const endpoint = o.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT;
  const { folder, named } = saeHubFolder(id);
  const dir = path.join(
    o.cacheDir ?? cacheRoot(),
    'hub',
    ...id.repo.split('/'),
    id.revision,
    ...(folder.path ? folder.path.split('/') : []),
  );
  mkdirSync(dir, { recursive: true });
  const url = (file: string) => hubFileUrl(endpoint, folder, file);
  const missing = (e: unknown) => {
    if (e instanceof HubFetchError && e.status === 404) return null;
    throw e;
  };
  const files: string[] = [];
  for (const file of SAE_CONFIG_FILES) {
    const ok = await small(url(file), cachedFile(dir, file), o).then(() => true, missing);
    if (ok) files.push(file);
  }
  const candidates = saeWeightCandidates(named, files.includes('cfg.json'));
  for (const file of candidates) {
    const info = await remoteFileInfo(url(file), o).catch(missing);
    if (!info) continue;
    const c = cachedFile(dir, file);
    if (file.endsWith('.safetensors')) await safetensors(info, c, file, o);
    else await wholeFile(info, c, file, o);
    files.push(file);
    return { dir, files, folder };
  }
  throw new HubFetchError(
    url(candidates[0]!),
    `HTTP 404: no SAE weights in ${folder.path || 'the repository root'} (looked for ${candidates.join(', ')})`,
    404,
  );
}

/** A file that needs no header check (params.npz): kept when its ETag matches, else streamed whole. */
async function wholeFile(
  info: RemoteFileInfo,
  c: CachedFile,
  fileName: string,
  o: HubResolveOptions,
): Promise<void> {
  await cachedDownload(info, c, fileName, o, (fd) => streamInto(info, fd, o));
}
