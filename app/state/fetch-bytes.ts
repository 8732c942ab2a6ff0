/** Download a URL into an ArrayBuffer, reporting progress and honouring an AbortSignal. */
import { describeError } from './errors';

/** A download that failed; `file` is the URL, `problem` what went wrong (shown like an InputError). */
export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export interface FetchProgress {
  loaded: number;
  /** From Content-Length; undefined when the server does not say. */
  total: number | undefined;
}

/**
 * @example
 * const bytes = await fetchBytes('/models/stories260K.bin', { onProgress: (p) => console.log(p.loaded) });
 * @throws FetchError naming the URL for HTTP errors and network failures; AbortError when aborted.
 */
export async function fetchBytes(
  url: string,
  { signal, onProgress }: { signal?: AbortSignal; onProgress?: (p: FetchProgress) => void } = {},
): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    const why = describeError(e).message;
    throw new FetchError(
      url,
      `could not fetch (${why}); check the URL and that the server allows cross-origin requests`,
    );
  }
  if (!response.ok) throw new FetchError(url, `HTTP ${response.status} ${response.statusText}`.trim());
  const header = Number(response.headers.get('content-length'));
  const total = Number.isFinite(header) && header > 0 ? header : undefined;
  onProgress?.({ loaded: 0, total });
  if (!response.body) {
    const buf = await response.arrayBuffer();
    onProgress?.({ loaded: buf.byteLength, total: buf.byteLength });
    return buf;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress?.({ loaded, total });
  }
  const out = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out.buffer;
}
