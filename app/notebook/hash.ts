/**
 * Content hashes (SHA-256, lower-case hex) for cached-result keys and stored model files. A result
 * key hashes what determines the result, so a reload finds a cached result exactly when it is
 * still valid, and a picked model file is stored once however often it is picked.
 */

import { canonicalJson } from './canonical-json';

/**
 * SHA-256 of bytes, as 64 hex characters.
 *
 * @example
 * const id = await hashBytes(new Uint8Array(await file.arrayBuffer())); // blob id for putBlob
 */
export async function hashBytes(bytes: Uint8Array): Promise<string> {
  // WebCrypto wants an ArrayBuffer-backed view; a view over a SharedArrayBuffer is copied first.
  const view =
    bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', view));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/**
 * SHA-256 of a JSON value in canonical form (object keys sorted), so `{a, b}` and `{b, a}` agree.
 *
 * @example
 * await hashJson({ layer: 2, head: 0 }) === await hashJson({ head: 0, layer: 2 }); // true
 */
export async function hashJson(value: unknown): Promise<string> {
  return hashBytes(new TextEncoder().encode(canonicalJson(value)));
}
