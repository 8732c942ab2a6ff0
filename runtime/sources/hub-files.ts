/**
 * Whole files of a hub folder read into memory (a pretrained SAE's cfg.json and weights, tens to
 * hundreds of MB), with the same machinery a hub model load uses: the size and ETag first (HEAD),
 * the cached copy when the cache holds that ETag, else the bytes by Range requests, several at a
 * time, with progress (bytes, rate, time left); a safetensors file's header comes first and is
 * validated (a header over 100 MB is refused before anything else is fetched). A server without
 * Range support is read as one streamed GET, with a note.
 *
 * A downloaded file is cached only once every byte arrived (`create`, `write`, `commit` in one
 * go), so a failed, cancelled or truncated download leaves nothing a later load would use; a full
 * cache is a note, not a failure. The token is a request header only.
 */
import type { HubCache, HubCacheKey } from './hub-cache';
import { fetchRange, remoteFileInfo, streamFile, type HubFetchOptions } from './hub-fetch';
import { DEFAULT_HF_ENDPOINT, hubFileUrl, type HubId } from './hub-id';
import { cacheWhole, rateMeter, type HubLoadedFile, type HubLoadProgress } from './hub-model';
import { readSafetensorsHeader } from './hub-safetensors';

/** Bytes per Range request, and requests in flight at once. */
const CHUNK_BYTES = 4 << 20;
const PARALLEL = 4;

export interface HubFilesOptions extends HubFetchOptions {
  /** The hub (HF_ENDPOINT's role); default https://huggingface.co. */
  endpoint?: string;
  cache?: HubCache | null;
  onProgress?: (p: HubLoadProgress) => void;
  /** Bytes per Range request (default 4 MiB). */
  chunkBytes?: number;
}

/** One file read, and what the user should know about it. */
export interface HubFileRead {
  bytes: Uint8Array;
  file: HubLoadedFile;
  /** Bytes that came over the network (0 from the cache). */
  downloaded: number;
}

/**
 * Read `file` of the folder `folder` names (its path is the folder), whole.
 *
 * @example
 * const r = await readHubFile(parseHubId('hf:jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre'),
 *   'sae_weights.safetensors', { endpoint, token, signal, cache, onProgress }, notes);
 * @throws HubFetchError naming the URL (404, gated, truncated download), ModelFormatError naming
 *   the file for a bad safetensors header, or an AbortError when `signal` fires.
 */
export async function readHubFile(
  folder: HubId,
  file: string,
  o: HubFilesOptions,
  notes: string[],
): Promise<HubFileRead> {
  const url = hubFileUrl(o.endpoint?.trim() || DEFAULT_HF_ENDPOINT, folder, file);
  const info = await remoteFileInfo(url, o);
  const key: HubCacheKey = {
    repo: folder.repo,
    revision: folder.revision,
    file: folder.path ? `${folder.path}/${file}` : file,
    etag: info.etag,
  };
  const meter = rateMeter();
  let shown = 0;
  const progress = (done: number, fromCache: boolean, force = false) => {
    const now = Date.now();
    if (!o.onProgress || (!force && now - shown < 100)) return;
    shown = now;
    const rate = fromCache ? null : meter(done, now);
    o.onProgress({
      phase: 'weights',
      file,
      done,
      total: info.size,
      downloaded: fromCache ? 0 : done,
      bytesPerSecond: rate,
      secondsLeft: rate ? (info.size - done) / rate : null,
      fromCache,
    });
  };

  const reader = info.etag && o.cache ? await o.cache.open(key, info.size).catch(() => null) : null;
  if (reader) {
    progress(0, true, true);
    const bytes = await reader.read(0, info.size);
    progress(info.size, true, true);
    return { bytes, file: { file, size: info.size, etag: info.etag, cached: true }, downloaded: 0 };
  }

  let bytes: Uint8Array;
  progress(0, false, true);
  if (info.ranges) {
    bytes = new Uint8Array(info.size);
    let at = 0;
    if (file.endsWith('.safetensors')) {
      // The header is checked before any tensor data is asked for.
      const h = await readSafetensorsHeader((b, e) => fetchRange(url, b, e, o), info.size, file);
      bytes.set(h.prefix);
      at = h.dataStart;
    }
    let done = at;
    const chunk = o.chunkBytes ?? CHUNK_BYTES;
    const ranges: [number, number][] = [];
    for (let b = at; b < info.size; b += chunk) ranges.push([b, Math.min(info.size, b + chunk)]);
    let next = 0;
    const worker = async () => {
      while (next < ranges.length) {
        const [b, e] = ranges[next++]!;
        const piece = await fetchRange(url, b, e, o, (n) => progress((done += n), false));
        bytes.set(piece, b);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, ranges.length) }, worker));
  } else {
    notes.push(
      `${file}: the server does not support Range requests, so it came as one streamed download (no parallel requests)`,
    );
    bytes = new Uint8Array(info.size);
    let done = 0;
    await streamFile(
      url,
      info.size,
      (piece, offset) => {
        bytes.set(piece, offset);
        progress((done += piece.byteLength), false);
      },
      o,
    );
    if (file.endsWith('.safetensors')) {
      await readSafetensorsHeader((b, e) => Promise.resolve(bytes.subarray(b, e)), info.size, file);
    }
  }
  progress(info.size, false, true);
  if (info.etag && o.cache) await cacheWhole(o.cache, key, bytes, notes);
  return {
    bytes,
    file: { file, size: info.size, etag: info.etag, cached: false },
    downloaded: info.size,
  };
}
