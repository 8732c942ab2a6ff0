/**
 * DEFLATE decompression that can stop part way. Share links and reports are untrusted input, and
 * DEFLATE expands up to 1032:1, so a 256 KB link could otherwise ask for ~260 MB; the caller sees
 * each piece of output as it comes and stops the moment something is wrong or too large.
 */

import { Inflate } from 'fflate';

/** Thrown by {@link inflateCapped} when the output would exceed its limit. */
export class InflateLimitError extends Error {
  override readonly name = 'InflateLimitError';
  constructor(readonly limit: number) {
    super(`decompressed data exceeds ${limit} bytes`);
  }
}

/**
 * Input is fed in slices of this size by default, so one slice inflates to at most ~1 MB
 * (1032 × 1 KiB) before the caller sees it.
 */
const SLICE = 1024;

/**
 * Inflate raw DEFLATE `data` a slice at a time, handing each piece of output to `onData` (a fresh
 * array it may keep). Whatever `onData` throws stops the inflation at once and propagates: the rest
 * of the input is never inflated. Corrupt or truncated input throws fflate's own Error ("invalid
 * block type", "unexpected EOF", …). A slice inflates to at most 1032 × `slice` bytes before
 * `onData` sees it; each slice costs a copy of fflate's 32 KiB window, so large inputs want larger
 * slices.
 *
 * @example
 * let n = 0;
 * inflateEach(deflateSync(data), (chunk) => {
 *   if ((n += chunk.length) > limit) throw new InflateLimitError(limit);
 * });
 */
export function inflateEach(data: Uint8Array, onData: (chunk: Uint8Array) => void, slice = SLICE): void {
  const inflater = new Inflate((chunk) => {
    if (chunk.length > 0) onData(chunk);
  });
  if (data.length === 0) inflater.push(data, true);
  for (let i = 0; i < data.length; i += slice) {
    inflater.push(data.subarray(i, i + slice), i + slice >= data.length);
  }
}

/**
 * Inflate raw DEFLATE `data`, refusing (InflateLimitError) once more than `maxBytes` come out.
 * Corrupt or truncated input throws fflate's own Error ("invalid block type", "unexpected EOF", …).
 * Peak memory stays near 2 × `maxBytes` + ~1 MB whatever the input claims.
 *
 * @example
 * const bytes = inflateCapped(deflateSync(data), 2 << 20);
 */
export function inflateCapped(data: Uint8Array, maxBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  inflateEach(data, (chunk) => {
    total += chunk.length;
    if (total > maxBytes) throw new InflateLimitError(maxBytes);
    chunks.push(chunk);
  });
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
