/**
 * DEFLATE decompression that stops as soon as the output passes a limit. A share link is untrusted
 * input, and DEFLATE expands up to 1032:1, so a 256 KB link could otherwise ask for ~260 MB.
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
 * Input is fed in slices of this size, so one slice inflates to at most ~1 MB (1032 × 1 KiB) before
 * the limit is checked again.
 */
const SLICE = 1024;

/**
 * Inflate raw DEFLATE `data`, refusing (InflateLimitError) once more than `maxBytes` come out.
 * Corrupt or truncated input throws fflate's own Error ("invalid block type", "unexpected EOF", …).
 * Peak memory stays near `maxBytes` + ~1 MB whatever the input claims.
 *
 * @example
 * const bytes = inflateCapped(deflateSync(data), 2 << 20);
 */
export function inflateCapped(data: Uint8Array, maxBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    if (total > maxBytes) throw new InflateLimitError(maxBytes);
    chunks.push(chunk);
  });
  if (data.length === 0) inflater.push(data, true);
  for (let i = 0; i < data.length; i += SLICE) {
    inflater.push(data.subarray(i, i + SLICE), i + SLICE >= data.length);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
