/**
 * Share links: the whole notebook, deflated and base64url-encoded, in the URL hash (`#nb=…`). The
 * hash never reaches a server, so a link shares the notebook without hosting anything. Decoding is
 * treated as hostile input: every stage has its own limit and its own message, and failure throws
 * before anything could replace the open notebook.
 */

import { deflateSync } from 'fflate';
import type { NotebookDoc } from './document';
import { decodeBase64url, encodeBase64url } from './base64url';
import { orderedNotebook } from './canonical-json';
import { inflateCapped, InflateLimitError } from './inflate-capped';
import { loadNotebookValue } from './migrate';
import { parseJson } from './notebook-file';
import { NotebookError } from './notebook-error';
import type { ValidateOptions } from './schema';

/** The hash parameter that carries a notebook. */
export const SHARE_HASH_PREFIX = '#nb=';
/** Longest hash accepted or produced (characters). Browsers cope with far more; chat apps do not. */
export const MAX_SHARE_HASH_CHARS = 256 * 1024;
/** Largest notebook JSON a link may decompress to (bytes). */
export const MAX_SHARE_JSON_BYTES = 2 << 20;

const SOURCE = 'link';

/**
 * The hash for a share link: `#nb=` + base64url(deflateRaw(UTF-8 JSON)), level 9. Throws
 * NotebookError (source `link`) when the notebook is too large for a link; save a file instead.
 *
 * @example
 * await navigator.clipboard.writeText(location.origin + location.pathname + encodeShareHash(doc));
 */
export function encodeShareHash(doc: NotebookDoc): string {
  const json = new TextEncoder().encode(JSON.stringify(orderedNotebook(doc)));
  if (json.length > MAX_SHARE_JSON_BYTES) {
    throw new NotebookError(
      SOURCE,
      `cannot hold this notebook (${kb(json.length)} of JSON; the limit is ${kb(MAX_SHARE_JSON_BYTES)}); save it as a file instead`,
    );
  }
  const hash = SHARE_HASH_PREFIX + encodeBase64url(deflateSync(json, { level: 9 }));
  if (hash.length > MAX_SHARE_HASH_CHARS) {
    throw new NotebookError(
      SOURCE,
      `would be too long (${kb(hash.length)}; the limit is ${kb(MAX_SHARE_HASH_CHARS)}); save the notebook as a file instead`,
    );
  }
  return hash;
}

/**
 * True when `hash` (e.g. `location.hash`) carries a notebook, so the app knows to call
 * {@link decodeShareHash} instead of restoring the autosave.
 *
 * @example
 * if (hasShareHash(location.hash)) doc = decodeShareHash(location.hash, { knownKinds });
 */
export function hasShareHash(hash: string): boolean {
  return hashParts(hash).some((p) => p.startsWith('nb='));
}

/**
 * The notebook in a share-link hash (with or without the leading `#`; other `&`-separated hash
 * parameters are ignored). Throws NotebookError with source `link` for a missing or unknown
 * prefix, an over-long hash, invalid base64url, data that does not decompress or decompresses past
 * MAX_SHARE_JSON_BYTES, invalid UTF-8 or JSON, a future version, or a schema error.
 *
 * @example
 * try {
 *   notebook = decodeShareHash(location.hash, { knownKinds });
 * } catch (e) {
 *   if (e instanceof NotebookError) showError(e.message); // "link: was written by a newer Sparsebook …"
 * }
 */
export function decodeShareHash(hash: string, opts: ValidateOptions = {}): NotebookDoc {
  const fail = (problem: string, cause?: unknown): never => {
    throw new NotebookError(SOURCE, problem, cause === undefined ? undefined : { cause });
  };
  if (hash.length > MAX_SHARE_HASH_CHARS) {
    fail(`is too long (${kb(hash.length)}; the limit is ${kb(MAX_SHARE_HASH_CHARS)})`);
  }
  const parts = hashParts(hash);
  if (parts.length === 0) fail('has no notebook in it (no "#nb=…" part)');
  const part = parts.find((p) => p.startsWith('nb='));
  if (part === undefined) {
    const found = parts[0]!.length > 20 ? parts[0]!.slice(0, 20) + '…' : parts[0];
    fail(`does not hold a notebook (expected "#nb=…", found "#${found}")`);
  }
  const payload = part!.slice(3);
  if (payload === '') fail('has an empty notebook part ("#nb=")');

  const compressed = decodeBase64url(payload);
  if (!compressed) fail('is damaged (not valid base64url; was it cut short or altered when copied?)');

  let bytes: Uint8Array;
  try {
    bytes = inflateCapped(compressed!, MAX_SHARE_JSON_BYTES);
  } catch (e) {
    if (e instanceof InflateLimitError) {
      return fail(`decompresses to more than ${kb(MAX_SHARE_JSON_BYTES)}; refused`);
    }
    return fail(`is damaged (could not decompress: ${e instanceof Error ? e.message : String(e)})`, e);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    return fail('is damaged (the notebook is not UTF-8 text)', e);
  }
  return loadNotebookValue(parseJson(text, SOURCE), SOURCE, opts);
}

function hashParts(hash: string): string[] {
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  return body === '' ? [] : body.split('&');
}

function kb(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}
