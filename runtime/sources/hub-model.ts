/**
 * Load a model straight from a Hugging Face hub repository (`hf:ORG/NAME[@REV]`) onto a backend,
 * in the browser's runtime worker (or anywhere with `fetch`), without ever holding a weights file
 * in memory:
 *
 * 1. config.json, tokenizer.json and tokenizer_config.json (small files, whole);
 * 2. the weights: model.safetensors, or the shards that model.safetensors.index.json names. Each
 *    file's header comes first, by Range requests, and is validated; then the architecture's
 *    tensor table is checked against the headers (`planHfCheckpoint`), the tokenizer against the
 *    config, and the memory the weights will take against the device's limits and budget, all
 *    before any tensor data is downloaded;
 * 3. the tensor data, by Range requests, several at a time, in chunks of at most `chunkBytes`:
 *    each chunk is copied into its tensor's array as it arrives (F16 / BF16 kept as their 16-bit
 *    bits, no float32 copy: the backends decode them in the kernels), and each tensor, once
 *    complete, is checked and handed to the backend (`LlamaModel.incremental`), so the host holds
 *    one tensor plus the chunks in flight. A server without Range support is read as one streamed
 *    GET instead (with a note).
 *
 * With a cache (opfs-hub-cache.ts in browsers), each file is kept under repository, revision and
 * ETag: a later load asks the hub only for the ETags (HEAD) and reads the bytes from the cache. A
 * cache that runs out of room is a note, not a failure: the load goes on uncached and nothing
 * half-written is kept. `signal` aborts every request at once; the backend keeps nothing of an
 * abandoned load. The access token is sent as a header and never appears in a message.
 */
import type { Backend } from '../../kernels/backend';
import { checkCompatible } from '../compatibility';
import { formatCount, ModelFormatError } from '../errors';
import { checkTensorValues, planHfCheckpoint, type HfCheckpointPlan } from '../formats/hf-checkpoint';
import { parseHfConfig } from '../formats/hf-config';
import type { SafetensorsTensorInfo } from '../formats/safetensors';
import {
  halfArray,
  storageBytes,
  type HalfDType,
  type WeightArray,
  type WeightDType,
} from '../../kernels/weight-dtype';
import { modelInfo, type LoadedModel } from '../index';
import { LlamaModel, releaseHostArray, type IncrementalLoad } from '../model/llama';
import { HfTokenizer } from '../tokenizers/hf-tokenizer';
import { HubMemoryError } from './hub-errors';
import { isQuotaError, type HubCache, type HubCacheKey, type HubCacheWriter } from './hub-cache';
import {
  fetchFile,
  fetchRange,
  HubFetchError,
  remoteFileInfo,
  type HubFetchOptions,
  type RemoteFileInfo,
} from './hub-fetch';
import { DEFAULT_HF_ENDPOINT, formatHubId, hubFileUrl, type HubId } from './hub-id';
import { readSafetensorsHeader, shardNames, type RemoteSafetensorsHeader } from './hub-safetensors';

/**
 * Largest Range request for tensor data. The requests in flight hold at most a quarter of the
 * largest tensor's bytes (and this much each), so the host peaks near 1.25× that tensor.
 */
export const HUB_CHUNK_BYTES = 8 << 20;
/** Smallest Range request (many tiny requests cost more than the memory they save). */
const MIN_CHUNK_BYTES = 256 << 10;
/** Range requests in flight at once. */
export const HUB_PARALLEL = 4;

/** What the device can hold, checked before anything is downloaded. */
export interface HubMemoryLimits {
  /**
   * WebGPU: the largest buffer, and the largest storage binding: a weight must fit one, except
   * the embedding and the classifier ([vocab, dim]), which are split by rows when they do not.
   */
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  /** Bytes all the weights may take on the backend. */
  budgetBytes?: number;
  /** Where the budget comes from, for the refusal ("half of navigator.deviceMemory (16 GB)"). */
  budgetSource?: string;
  /** Bytes the backend allocates for a tensor of `bytes` (WebGPU's pool rounds up); default identity. */
  allocated?: (bytes: number) => number;
}

/** How far a load is; `done` and `total` count the bytes of weights files (header and tensors). */
export interface HubLoadProgress {
  phase: 'files' | 'weights';
  /** The file being read. */
  file: string;
  done: number;
  total: number;
  /** Bytes of weights that came from the network (the rest from the cache). */
  downloaded: number;
  /** Over the last few seconds; null until there is a measurement. */
  bytesPerSecond: number | null;
  /** At that rate; null when unknown. */
  secondsLeft: number | null;
  /** Whether the bytes now come from the cache. */
  fromCache: boolean;
}

export interface HubLoadOptions extends HubFetchOptions {
  /** The hub (HF_ENDPOINT's role); default https://huggingface.co. */
  endpoint?: string;
  cache?: HubCache | null;
  onProgress?: (p: HubLoadProgress) => void;
  memory?: HubMemoryLimits;
  /**
   * Bytes per Range request (default: a quarter of the largest tensor's bytes over the
   * requests in flight, between 256 KiB and HUB_CHUNK_BYTES) and requests in flight (default
   * HUB_PARALLEL).
   */
  chunkBytes?: number;
  parallel?: number;
  /** Test-only: split the embedding / classifier into row blocks of at most this many bytes. */
  maxTensorBytes?: number;
}

/** One file a hub load read, and where from. */
export interface HubLoadedFile {
  file: string;
  size: number;
  etag: string;
  /** Read from the cache (only its ETag was asked for). */
  cached: boolean;
}

export interface HubLoaded extends LoadedModel {
  /** `hf:ORG/NAME[@REV]`. */
  id: string;
  repo: string;
  revision: string;
  /** The weights file(s) and the tokenizer file, as shown to the user. */
  modelName: string;
  tokenizerName: string;
  files: HubLoadedFile[];
  /** What the user should know (a server without Range support, a file that was not cached). */
  notes: string[];
  /** Bytes of the weights files and how many came over the network. */
  weightBytes: number;
  downloadedBytes: number;
}

export { HubMemoryError };

/**
 * Load `id` onto `backend` (see the module comment).
 *
 * @example
 * const loaded = await loadHubModel(backend, parseHubId('hf:openai-community/gpt2'), {
 *   endpoint, token, signal, cache: opfsHubCache(), onProgress: (p) => show(p),
 * });
 * @throws HubFetchError naming the URL (404, gated, truncated download), ModelFormatError /
 *   TokenizerError / CompatibilityError naming the file, HubMemoryError with the numbers, or an
 *   AbortError when `signal` fires.
 */
export async function loadHubModel(backend: Backend, id: HubId, o: HubLoadOptions = {}): Promise<HubLoaded> {
  const endpoint = o.endpoint?.trim() || DEFAULT_HF_ENDPOINT;
  const url = (file: string) => hubFileUrl(endpoint, id, file);
  const cache = o.cache ?? null;
  const notes: string[] = [];
  const files: HubLoadedFile[] = [];
  const key = (file: string, etag: string): HubCacheKey => ({
    repo: id.repo,
    revision: id.revision,
    file: id.path ? `${id.path}/${file}` : file,
    etag,
  });
  const progress = (file: string) =>
    o.onProgress?.({
      phase: 'files',
      file,
      done: 0,
      total: 0,
      downloaded: 0,
      bytesPerSecond: null,
      secondsLeft: null,
      fromCache: false,
    });
  const notFound = (e: unknown) => e instanceof HubFetchError && e.status === 404;

  /** A small file: from the cache when its ETag still matches, else fetched whole (and cached). */
  const small = async (file: string): Promise<Uint8Array> => {
    progress(file);
    const info = await remoteFileInfo(url(file), o);
    const reader = info.etag ? await cache?.open(key(file, info.etag), info.size).catch(() => null) : null;
    if (reader) {
      files.push({ file, size: info.size, etag: info.etag, cached: true });
      return reader.read(0, info.size);
    }
    const { bytes, etag } = await fetchFile(url(file), o);
    files.push({ file, size: bytes.byteLength, etag, cached: false });
    if (etag && cache) await cacheWhole(cache, key(file, etag), bytes, notes);
    return bytes;
  };

  const config = await small('config.json').catch((e: unknown) => {
    if (notFound(e)) {
      throw new HubFetchError(
        url('config.json'),
        `HTTP 404: ${formatHubId(id)} has no config.json (no such repository or revision, or not a transformers model)`,
        404,
      );
    }
    throw e;
  });
  const parsed = parseHfConfig(config, 'config.json');
  const tokenizerBytes = await small('tokenizer.json').catch((e: unknown) => {
    if (notFound(e)) {
      throw new ModelFormatError(
        `${formatHubId(id)}/tokenizer.json`,
        'the repository has no tokenizer.json (Sparsebook reads Hugging Face tokenizers from tokenizer.json)',
      );
    }
    throw e;
  });
  const tokenizerConfig = await small('tokenizer_config.json').catch((e: unknown) => {
    if (notFound(e)) return undefined;
    throw e;
  });

  // The weights files, then every header (validated) before any tensor data.
  let single: RemoteFileInfo | null;
  try {
    single = await remoteFileInfo(url('model.safetensors'), o);
  } catch (e) {
    if (!notFound(e)) throw e;
    single = null;
  }
  let names = ['model.safetensors'];
  if (!single) {
    const index = await small('model.safetensors.index.json').catch((e: unknown) => {
      if (notFound(e)) {
        throw new ModelFormatError(
          formatHubId(id),
          'the repository has neither model.safetensors nor model.safetensors.index.json (only safetensors weights are read)',
        );
      }
      throw e;
    });
    names = shardNames(index, 'model.safetensors.index.json');
  }
  const sources: WeightsFile[] = [];
  try {
    for (const name of names) {
      progress(name);
      const info = name === 'model.safetensors' && single ? single : await remoteFileInfo(url(name), o);
      sources.push(
        await openWeightsFile(
          name,
          info,
          cache && info.etag ? { cache, key: key(name, info.etag) } : null,
          o,
          notes,
        ),
      );
    }
    const plan = planHfCheckpoint(
      parsed,
      sources.map((s) => s.header.file),
      'config.json',
    );
    const tokenizer = HfTokenizer.load(
      { tokenizer: tokenizerBytes, config, ...(tokenizerConfig ? { tokenizerConfig } : {}) },
      {},
      { embedding: { rows: plan.config.vocabSize, model: 'config.json' } },
    );
    checkCompatible(plan.config, tokenizer, { model: 'config.json', tokenizer: 'tokenizer.json' });
    checkMemory(plan, o.memory ?? {});

    const model = await streamWeights(backend, plan, sources, o, notes);
    for (const s of sources) {
      files.push({ file: s.name, size: s.info.size, etag: s.info.etag, cached: s.kind === 'cache' });
    }
    const weightBytes = sources.reduce((n, s) => n + s.info.size, 0);
    const downloadedBytes = sources.reduce((n, s) => n + s.downloaded, 0);
    return {
      model,
      tokenizer,
      info: modelInfo(plan.config),
      id: formatHubId(id),
      repo: id.repo,
      revision: id.revision,
      modelName: `${formatHubId(id)} (${names.join(' + ')})`,
      tokenizerName: 'tokenizer.json',
      files,
      notes,
      weightBytes,
      downloadedBytes,
    };
  } finally {
    for (const s of sources) await s.close();
  }
}

/** Cache a complete file (hub-files.ts caches with it too); a full cache is a note. */
export async function cacheWhole(cache: HubCache, key: HubCacheKey, bytes: Uint8Array, notes: string[]) {
  let w: HubCacheWriter | undefined;
  try {
    w = await cache.create(key, bytes.byteLength);
    await w.write(bytes, 0);
    await w.commit();
  } catch (e) {
    await w?.abort().catch(() => undefined);
    noteCacheFailure(key.file, e, notes);
  }
}

function noteCacheFailure(file: string, e: unknown, notes: string[]): void {
  const why = isQuotaError(e)
    ? `the browser's storage for this site is full${e instanceof Error && e.name === 'HubCacheFullError' ? ` (${e.message})` : ''}; delete cached entries in the cache panel to make room`
    : `the cache could not be written (${e instanceof Error ? e.message : String(e)})`;
  const note = `${file} was not cached: ${why}. It loaded; the next load downloads it again.`;
  if (!notes.includes(note)) notes.push(note);
}

// ── weights files ───────────────────────────────────────────────────────────

/** Where a weights file's bytes come from, with its header already read. */
interface WeightsFile {
  name: string;
  info: RemoteFileInfo;
  header: RemoteSafetensorsHeader;
  kind: 'cache' | 'ranges' | 'stream';
  /** Ranges: fetch bytes [begin, end) (`onBytes` hears each piece as it arrives). Cache: read them. */
  read?: (
    begin: number,
    end: number,
    signal?: AbortSignal,
    onBytes?: (n: number) => void,
  ) => Promise<Uint8Array>;
  /** Stream: the body, read past the header, and the reader of the rest. */
  stream?: ReadableStreamDefaultReader<Uint8Array>;
  cursor?: StreamCursor;
  /** Where a file from the hub is to be cached, and the copy being written, if any. */
  cacheAs?: { cache: HubCache; key: HubCacheKey } | null;
  writer?: HubCacheWriter;
  /** Bytes that came over the network. */
  downloaded: number;
  close(): Promise<void>;
}

/**
 * Open one weights file and read its header: from the cache when it has this ETag, else from the
 * hub by ranges or as a stream. A file from the hub is cached (`cacheAs`) once its tensors are
 * fetched (`startCaching`, after every check has passed).
 */
async function openWeightsFile(
  name: string,
  info: RemoteFileInfo,
  cacheAs: { cache: HubCache; key: HubCacheKey } | null,
  o: HubLoadOptions,
  notes: string[],
): Promise<WeightsFile> {
  const reader = cacheAs ? await cacheAs.cache.open(cacheAs.key, info.size).catch(() => null) : null;
  if (reader) {
    const header = await readSafetensorsHeader((b, e) => reader.read(b, e), info.size, name);
    return {
      name,
      info,
      header,
      kind: 'cache',
      read: (b, e) => reader.read(b, e),
      downloaded: 0,
      close: async () => {},
    };
  }
  const f: WeightsFile = {
    name,
    info,
    header: undefined as unknown as RemoteSafetensorsHeader,
    kind: 'ranges',
    downloaded: 0,
    cacheAs,
    close: async () => {
      await f.writer?.abort().catch(() => undefined);
      f.writer = undefined;
      await f.stream?.cancel().catch(() => undefined);
    },
  };
  const read = (begin: number, end: number, signal?: AbortSignal, onBytes?: (n: number) => void) =>
    fetchRange(info.url, begin, end, { ...o, ...(signal ? { signal } : {}) }, (n) => {
      f.downloaded += n;
      onBytes?.(n);
    });
  try {
    f.header = await readSafetensorsHeader(read, info.size, name);
    f.read = read;
  } catch (e) {
    // A server that answers a Range request with the whole file (200) has no Range support.
    if (!(e instanceof HubFetchError && e.status === 200)) throw e;
    notes.push(
      `${name}: the server does not support Range requests, so it came as one streamed download (no parallel requests)`,
    );
    f.kind = 'stream';
    f.stream = await openStream(info, o);
    const cursor = streamCursor(f.stream, (n) => (f.downloaded += n));
    f.cursor = cursor;
    f.header = await readSafetensorsHeader(
      async (b, e) => {
        if (b !== cursor.offset)
          throw new Error(`stream read at ${b}, but the stream is at ${cursor.offset}`);
        return cursor.take(e - b, name);
      },
      info.size,
      name,
    );
  }
  return f;
}

/** Start the cached copy of a file from the hub (its header first); a full cache is a note. */
async function startCaching(f: WeightsFile, notes: string[]): Promise<void> {
  if (!f.cacheAs || f.kind === 'cache') return;
  try {
    f.writer = await f.cacheAs.cache.create(f.cacheAs.key, f.info.size);
    await f.writer.write(f.header.prefix, 0);
  } catch (e) {
    await f.writer?.abort().catch(() => undefined);
    f.writer = undefined;
    noteCacheFailure(f.name, e, notes);
  }
}

async function openStream(
  info: RemoteFileInfo,
  o: HubLoadOptions,
): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const headers: Record<string, string> = o.token ? { Authorization: `Bearer ${o.token}` } : {};
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(info.url, {
      headers,
      cache: 'no-store',
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new HubFetchError(info.url, `cannot reach the hub (${(e as Error).message})`, 0);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new HubFetchError(info.url, `HTTP ${res.status} ${res.statusText}`.trim(), res.status);
  }
  return res.body.getReader();
}

type StreamCursor = ReturnType<typeof streamCursor>;

/** Sequential reads from a stream reader: exact lengths (`take`) or whatever comes next (`next`). */
function streamCursor(reader: ReadableStreamDefaultReader<Uint8Array>, onBytes: (n: number) => void) {
  let pending: Uint8Array = new Uint8Array(0);
  const cursor = {
    offset: 0,
    /** Exactly `n` bytes. */
    async take(n: number, fileName: string): Promise<Uint8Array> {
      const out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        if (pending.byteLength === 0) {
          const { done, value } = await reader.read();
          if (done) {
            throw new ModelFormatError(
              fileName,
              `truncated download: the stream ended at byte ${formatCount(cursor.offset + filled)}`,
            );
          }
          onBytes(value.byteLength);
          pending = value;
        }
        const m = Math.min(n - filled, pending.byteLength);
        out.set(pending.subarray(0, m), filled);
        pending = pending.subarray(m);
        filled += m;
      }
      cursor.offset += n;
      return out;
    },
    /** The next piece of at most `max` bytes, or null at the end. */
    async next(max: number): Promise<Uint8Array | null> {
      if (pending.byteLength === 0) {
        const { done, value } = await reader.read();
        if (done) return null;
        onBytes(value.byteLength);
        pending = value;
      }
      const piece = pending.subarray(0, Math.min(max, pending.byteLength));
      pending = pending.subarray(piece.byteLength);
      cursor.offset += piece.byteLength;
      return piece;
    },
  };
  return cursor;
}

// ── memory plan ─────────────────────────────────────────────────────────────

/** The element type a stored tensor is held in: matrices as stored, vectors (norms, biases) f32. */
function heldDType(info: SafetensorsTensorInfo): WeightDType {
  if (info.shape.length < 2) return 'f32';
  return info.dtype === 'F16' ? 'f16' : info.dtype === 'BF16' ? 'bf16' : 'f32';
}

function checkMemory(plan: HfCheckpointPlan, m: HubMemoryLimits): void {
  const fail = (problem: string): never => {
    throw new HubMemoryError(plan.fileName, `${problem}. Nothing was downloaded.`);
  };
  const { vocabSize, dim } = plan.config;
  const oneTensor = Math.min(m.maxStorageBufferBindingSize ?? Infinity, m.maxBufferSize ?? Infinity);
  let total = 0;
  const alloc = m.allocated ?? ((n: number) => n);
  for (const { stored, info } of plan.tensors) {
    const dtype = heldDType(info);
    const bytes = storageBytes(dtype, info.size);
    // The embedding and the classifier are split by rows (runtime/model/row-chunks.ts): one row must fit.
    const rowSplit = info.shape.length === 2 && info.shape[0] === vocabSize && info.shape[1] === dim;
    const need = rowSplit ? storageBytes(dtype, dim) : bytes;
    total += rowSplit && bytes > oneTensor ? Math.ceil(bytes / oneTensor) * alloc(oneTensor) : alloc(bytes);
    for (const [limit, value, what] of [
      ['maxStorageBufferBindingSize', m.maxStorageBufferBindingSize, 'one storage binding'],
      ['maxBufferSize', m.maxBufferSize, 'one buffer'],
    ] as const) {
      if (value !== undefined && need > value) {
        fail(
          `tensor "${stored}" [${info.shape.join(', ')}] (${info.dtype}) needs ${formatBytes(need)}${rowSplit ? ' per row' : ''} as ${dtype}, ${formatBytes(need - value)} more than this GPU's ${limit} of ${formatBytes(value)} (${what}), so this model cannot run on this GPU (try the CPU backend or a smaller model)`,
        );
      }
    }
  }
  if (m.budgetBytes !== undefined && total > m.budgetBytes) {
    const params = plan.tensors.reduce((n, t) => n + t.info.size, 0);
    const held = [...new Set(plan.tensors.map((t) => heldDType(t.info)))].join(' and ');
    fail(
      `the weights need ${formatBytes(total)} on the backend (${formatCount(params)} parameters held as ${held}${m.allocated ? ', buffers rounded up as the backend allocates them' : ''}), ${formatBytes(total - m.budgetBytes)} over the budget of ${formatBytes(m.budgetBytes)}${m.budgetSource ? ` (${m.budgetSource})` : ''}`,
    );
  }
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} bytes`;
}

// ── tensor data ─────────────────────────────────────────────────────────────

/**
 * A needed tensor being filled: its array (float32, or the 16-bit bits as stored) is allocated
 * when its first bytes arrive.
 */
interface Pending {
  t: HfCheckpointPlan['tensors'][number];
  info: SafetensorsTensorInfo;
  out: WeightArray | undefined;
  /** Bytes of the tensor received so far. */
  got: number;
  /** Checked and handed to the backend. */
  done: boolean;
}

/** Fetch (or read) every needed tensor, file by file, and hand each to the backend when complete. */
async function streamWeights(
  backend: Backend,
  plan: HfCheckpointPlan,
  files: WeightsFile[],
  o: HubLoadOptions,
  notes: string[],
): Promise<LlamaModel> {
  // WebGPU copies each tensor to the device: its host array can be freed at once.
  const release = backend.kind !== 'cpu';
  const load = LlamaModel.incremental(backend, plan.config, {
    fileName: plan.fileName,
    storedDtypes: plan.storedDtypes,
    ...(o.maxTensorBytes !== undefined ? { maxTensorBytes: o.maxTensorBytes } : {}),
  });
  const total = files.reduce((n, f) => n + f.info.size, 0);
  const parallel = o.parallel ?? HUB_PARALLEL;
  const largest = plan.tensors.reduce((n, t) => Math.max(n, t.info.end - t.info.begin), 0);
  const chunkBytes =
    o.chunkBytes ?? Math.min(HUB_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, Math.floor(largest / 4 / parallel)));
  const meter = rateMeter();
  let done = files.reduce((n, f) => n + f.header.dataStart, 0);
  let lastShown = 0;
  const show = (file: WeightsFile, force = false) => {
    const now = Date.now();
    if (!force && now - lastShown < 100) return;
    lastShown = now;
    const downloaded = files.reduce((n, f) => n + f.downloaded, 0);
    const rate = meter(done, now);
    o.onProgress?.({
      phase: 'weights',
      file: file.name,
      done,
      total,
      downloaded,
      bytesPerSecond: rate,
      secondsLeft: rate ? (total - done) / rate : null,
      fromCache: file.kind === 'cache',
    });
  };
  try {
    for (const file of files) {
      const needed = plan.tensors
        .filter((t) => t.file === file.header.file)
        .sort((a, b) => a.info.begin - b.info.begin)
        .map((t): Pending => ({ t, info: t.info, out: undefined, got: 0, done: false }));
      let next = 0; // first needed tensor not complete yet
      const consume = async (begin: number, bytes: Uint8Array) => {
        if (file.writer) {
          try {
            await file.writer.write(bytes, begin);
          } catch (e) {
            await file.writer.abort().catch(() => undefined);
            file.writer = undefined;
            noteCacheFailure(file.name, e, notes);
          }
        }
        const end = begin + bytes.byteLength;
        for (let i = next; i < needed.length && needed[i]!.info.begin < end; i++) {
          const p = needed[i]!;
          if (p.done) continue;
          const from = Math.max(begin, p.info.begin + p.got);
          const to = Math.min(end, p.info.end);
          if (to > from) feed(p, bytes.subarray(from - begin, to - begin));
          if (p.got === p.info.end - p.info.begin) complete(p, load, file.name, release);
        }
        while (next < needed.length && needed[next]!.done) next++;
        // A chunk of its own (not a piece of a stream's): free it now, not at the next GC.
        if (file.kind !== 'stream') releaseBytes(bytes);
        show(file);
      };
      await startCaching(file, notes);
      // Empty tensors have no bytes to wait for.
      for (const p of needed) if (p.info.end === p.info.begin) complete(p, load, file.name, release);
      const ranges = fetchPlan(file, needed, chunkBytes);
      done += file.info.size - file.header.dataStart - ranges.reduce((n, [b, e]) => n + e - b, 0);
      show(file, true);
      if (file.kind === 'stream') {
        const cursor = file.cursor!;
        for (;;) {
          const at = cursor.offset;
          const piece = await cursor.next(1 << 20);
          if (!piece) break;
          o.signal?.throwIfAborted();
          done += piece.byteLength;
          if (cursor.offset > file.info.size) {
            throw new HubFetchError(
              file.info.url,
              `the server sent more than the ${formatCount(file.info.size)} bytes it announced`,
              200,
            );
          }
          await consume(at, piece);
        }
        if (cursor.offset !== file.info.size) {
          throw new HubFetchError(
            file.info.url,
            `truncated download: the stream ended after ${formatCount(cursor.offset)} of ${formatCount(file.info.size)} bytes`,
            200,
          );
        }
      } else {
        const fromCache = file.kind === 'cache';
        const arrived = (n: number) => {
          done += n;
          show(file);
        };
        const read = (r: readonly [number, number], signal: AbortSignal) =>
          fromCache
            ? file.read!(r[0], r[1], signal).then((b) => (arrived(b.byteLength), b))
            : file.read!(r[0], r[1], signal, arrived);
        await inOrder(ranges, read, consume, {
          parallel: file.kind === 'cache' ? 2 : parallel,
          ...(o.signal ? { signal: o.signal } : {}),
        });
      }
      const missing = needed.find((p) => p.got !== p.info.end - p.info.begin);
      if (missing)
        throw new ModelFormatError(file.name, `tensor "${missing.t.stored}" was not read completely`);
      if (file.writer) {
        try {
          await file.writer.commit();
        } catch (e) {
          await file.writer.abort().catch(() => undefined);
          noteCacheFailure(file.name, e, notes);
        }
        file.writer = undefined;
      }
      show(file, true);
    }
    return load.finish();
  } catch (e) {
    load.dispose();
    throw e;
  }
}

/**
 * The byte ranges to fetch from a file, in order, each at most `chunk` bytes: the whole data
 * section when the file is being cached (so the cached copy is the file), else only the tensors
 * the model uses (adjacent ones fetched together).
 */
function fetchPlan(file: WeightsFile, needed: Pending[], chunk: number): [number, number][] {
  const spans: [number, number][] = [];
  if (file.writer || file.kind !== 'ranges') {
    if (file.info.size > file.header.dataStart) spans.push([file.header.dataStart, file.info.size]);
  } else {
    for (const { info } of needed) {
      if (info.end === info.begin) continue;
      const last = spans.at(-1);
      if (last && info.begin - last[1] <= 4096) last[1] = Math.max(last[1], info.end);
      else spans.push([info.begin, info.end]);
    }
  }
  const out: [number, number][] = [];
  for (const [b, e] of spans) for (let at = b; at < e; at += chunk) out.push([at, Math.min(e, at + chunk)]);
  return out;
}

/**
 * Append a piece of a tensor's bytes to its array: the bytes as they are (float32 values, or
 * 16-bit bits kept as stored). F64 (never a weight dtype the plan accepts) cannot arrive here.
 */
function feed(p: Pending, piece: Uint8Array): void {
  const { dtype, size } = p.info;
  if (!p.out) {
    const half: HalfDType | undefined = dtype === 'F16' ? 'f16' : dtype === 'BF16' ? 'bf16' : undefined;
    p.out = half ? halfArray(half, new Uint16Array(size)) : new Float32Array(size);
  }
  const bytes = p.out instanceof Float32Array ? p.out : p.out.bits;
  new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).set(piece, p.got);
  p.got += piece.byteLength;
}

/**
 * A complete tensor: check its values, place and upload it, and let its array go (with `release`,
 * the backend copied it: free it now rather than at the next garbage collection).
 */
function complete(p: Pending, load: IncrementalLoad, fileName: string, release: boolean): void {
  const data = p.out ?? new Float32Array(0);
  checkTensorValues(data, p.t.stored, fileName);
  load.add((w) => p.t.entry.place(data, w));
  p.out = undefined;
  p.done = true;
  if (release) releaseHostArray(data);
}

/**
 * Run `fetchOne` over `items` with up to `parallel` in flight and hand the results to `consume`
 * strictly in order. The first failure (or `signal`) aborts the requests still in flight.
 */
async function inOrder(
  items: readonly (readonly [number, number])[],
  fetchOne: (item: readonly [number, number], signal: AbortSignal) => Promise<Uint8Array>,
  consume: (begin: number, bytes: Uint8Array) => Promise<void>,
  o: { parallel: number; signal?: AbortSignal },
): Promise<void> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) onAbort();
  const started: Promise<Uint8Array>[] = [];
  const start = (i: number) => {
    if (i >= items.length || started[i]) return;
    const p = fetchOne(items[i]!, controller.signal);
    p.catch(() => undefined); // awaited in order below
    started[i] = p;
  };
  try {
    for (let i = 0; i < Math.min(o.parallel, items.length); i++) start(i);
    for (let i = 0; i < items.length; i++) {
      const bytes = await started[i]!;
      started[i] = undefined as unknown as Promise<Uint8Array>;
      start(i + o.parallel);
      controller.signal.throwIfAborted();
      await consume(items[i]![0], bytes);
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    controller.abort(new DOMException('done', 'AbortError'));
  }
}

/** Detach a buffer nothing else uses (its memory is freed at once). */
function releaseBytes(b: Uint8Array): void {
  const buffer = b.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer };
  if (buffer.byteLength === 0 || b.byteOffset !== 0 || b.byteLength !== buffer.byteLength) return;
  if (typeof buffer.transfer === 'function') buffer.transfer(0);
}

/** Bytes per second over the last few seconds (hub-files.ts measures with it too). */
export function rateMeter(windowMs = 4000): (done: number, now: number) => number | null {
  const samples: [number, number][] = [];
  return (done, now) => {
    samples.push([now, done]);
    while (samples.length > 2 && now - samples[0]![0] > windowMs) samples.shift();
    const [t0, d0] = samples[0]!;
    return now - t0 >= 250 ? ((done - d0) * 1000) / (now - t0) : null;
  };
}
