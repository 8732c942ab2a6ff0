/**
 * Fetching files from a Hugging Face hub (or a server with its layout), in Node and in the browser:
 * whole small files, a file's size and ETag, and byte ranges of large ones, with an optional access
 * token sent as `Authorization: Bearer` and never put into a message. HTTP failures become a
 * `HubFetchError` that names the file (its URL without credentials) and says what to do.
 */
import { InputError } from '../errors';

/** Options of every hub request. */
export interface HubFetchOptions {
  /** Access token for gated repositories; sent as a header, never logged or put in messages. */
  token?: string;
  signal?: AbortSignal;
  /** The fetch to use (tests may pass one; default: the global fetch). */
  fetch?: typeof fetch;
}

/** A failed hub request: 401/403 (gated or bad token), 404, another status, or a network error. */
export class HubFetchError extends InputError {
  override name = 'HubFetchError';
  constructor(
    url: string,
    problem: string,
    /** HTTP status, or 0 for a network error. */
    readonly status: number,
  ) {
    super(url, problem, 'model-format');
  }
}

/** What a file's metadata request tells. */
export interface RemoteFileInfo {
  url: string;
  size: number;
  /** The ETag without quotes or W/ (Hugging Face sends the content hash), or '' when none. */
  etag: string;
  /** Whether the server honours Range requests. */
  ranges: boolean;
}

function headers(o: HubFetchOptions, extra: Record<string, string> = {}): Record<string, string> {
  return o.token ? { ...extra, Authorization: `Bearer ${o.token}` } : extra;
}

/** The ETag header as HF clients compare it (`X-Linked-Etag` first: the hub redirects LFS files). */
function etagOf(res: Response): string {
  const raw = res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '';
  return raw.replace(/^W\//, '').replace(/^"|"$/g, '');
}

async function request(url: string, init: RequestInit, o: HubFetchOptions): Promise<Response> {
  let res: Response;
  try {
    // 'no-store': the caller keeps its own cache (by ETag). A browser's HTTP cache would also lock
    // the URL's entry, queueing parallel Range requests and restarting some (downloading twice).
    res = await (o.fetch ?? fetch)(url, {
      cache: 'no-store',
      ...init,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new HubFetchError(url, `cannot reach the hub (${(e as Error).message})`, 0);
  }
  if (res.ok) return res;
  await res.body?.cancel().catch(() => {});
  if (res.status === 401 || res.status === 403) {
    throw new HubFetchError(
      url,
      o.token
        ? `HTTP ${res.status}: the access token was refused (is access to this gated model granted to it?)`
        : `HTTP ${res.status}: the model is gated or private; set an access token (HF_TOKEN, or the token field in the Model cell)`,
      res.status,
    );
  }
  if (res.status === 404) throw new HubFetchError(url, 'HTTP 404: no such repository, revision or file', 404);
  throw new HubFetchError(url, `HTTP ${res.status} ${res.statusText}`.trim(), res.status);
}

/**
 * Size, ETag and Range support of a remote file, without downloading it (HEAD).
 *
 * @example
 * const { size, etag, ranges } = await remoteFileInfo(url, { token });
 */
export async function remoteFileInfo(url: string, o: HubFetchOptions = {}): Promise<RemoteFileInfo> {
  const res = await request(url, { method: 'HEAD', headers: headers(o) }, o);
  const size = Number(res.headers.get('content-length'));
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new HubFetchError(url, 'the server sent no usable Content-Length', res.status);
  }
  return { url, size, etag: etagOf(res), ranges: res.headers.get('accept-ranges') === 'bytes' };
}

/** A whole (small) file's bytes and ETag. */
export async function fetchFile(
  url: string,
  o: HubFetchOptions = {},
): Promise<{ bytes: Uint8Array; etag: string }> {
  const res = await request(url, { headers: headers(o) }, o);
  return { bytes: new Uint8Array(await res.arrayBuffer()), etag: etagOf(res) };
}

/**
 * Bytes [begin, end) of a remote file by a Range request. A server that answers 200 with the whole
 * file is an error here (the caller checked `ranges` first); a short body is a truncated download.
 * With `onBytes`, the body is read as it arrives (into one buffer of the range's size) and
 * `onBytes` hears how many bytes each piece brought, for progress.
 */
export async function fetchRange(
  url: string,
  begin: number,
  end: number,
  o: HubFetchOptions = {},
  onBytes?: (n: number) => void,
): Promise<Uint8Array> {
  const res = await request(url, { headers: headers(o, { Range: `bytes=${begin}-${end - 1}` }) }, o);
  if (res.status !== 206) {
    await res.body?.cancel().catch(() => {});
    throw new HubFetchError(
      url,
      `asked for bytes ${begin}-${end - 1} but the server sent HTTP ${res.status}`,
      res.status,
    );
  }
  const bytes =
    onBytes && res.body
      ? await readBody(res.body, end - begin, onBytes)
      : new Uint8Array(await res.arrayBuffer());
  if (bytes.byteLength !== end - begin) {
    throw new HubFetchError(
      url,
      `truncated download: bytes ${begin}-${end - 1} came back as ${bytes.byteLength} of ${end - begin} bytes`,
      res.status,
    );
  }
  return bytes;
}

/**
 * A body of at most `size` bytes read piece by piece into one buffer (shorter when it ends early).
 * Where the body is a byte stream (browsers), a BYOB reader fills the buffer in place, so no piece
 * is allocated and dropped along the way.
 */
async function readBody(
  body: ReadableStream<Uint8Array>,
  size: number,
  onBytes: (n: number) => void,
): Promise<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = (body as ReadableStream<Uint8Array<ArrayBuffer>>).getReader({ mode: 'byob' });
  } catch {
    byob = undefined; // not a byte stream
  }
  if (byob) {
    let buffer = new ArrayBuffer(size);
    let at = 0;
    while (at < size) {
      const { done, value } = await byob.read(new Uint8Array(buffer, at, size - at));
      if (value) {
        buffer = value.buffer; // the read moved the buffer into `value`
        at += value.byteLength;
        if (value.byteLength > 0) onBytes(value.byteLength);
      }
      if (done) return new Uint8Array(buffer, 0, at);
    }
    const extra = await byob.read(new Uint8Array(1));
    if (!extra.done || (extra.value?.byteLength ?? 0) > 0) {
      await byob.cancel().catch(() => undefined);
      return new Uint8Array(size + 1); // longer than asked: reported as a wrong length
    }
    return new Uint8Array(buffer);
  }
  const out = new Uint8Array(size);
  const reader = body.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.byteLength > size) {
      await reader.cancel().catch(() => undefined);
      return new Uint8Array(size + 1); // longer than asked: reported as a wrong length
    }
    out.set(value, at);
    at += value.byteLength;
    onBytes(value.byteLength);
  }
  return at === size ? out : out.subarray(0, at);
}

/**
 * Stream a whole file (for servers without Range support), handing each chunk to `onChunk` as it
 * arrives; a body shorter than `expected` is a truncated download.
 */
export async function streamFile(
  url: string,
  expected: number,
  onChunk: (chunk: Uint8Array, offset: number) => void | Promise<void>,
  o: HubFetchOptions = {},
): Promise<void> {
  const res = await request(url, { headers: headers(o) }, o);
  if (!res.body) throw new HubFetchError(url, 'the server sent no body', res.status);
  const reader = res.body.getReader();
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (offset + value.byteLength > expected) {
      await reader.cancel();
      throw new HubFetchError(
        url,
        `the server sent more than the ${expected} bytes it announced`,
        res.status,
      );
    }
    await onChunk(value, offset);
    offset += value.byteLength;
  }
  if (offset !== expected) {
    throw new HubFetchError(url, `truncated download: ${offset} of ${expected} bytes`, res.status);
  }
}
