/**
 * Share links: the whole notebook, deflated and base64url-encoded, in the URL hash (`#nb=…`). The
 * hash never reaches a server, so a link shares the notebook without hosting anything. Decoding is
 * treated as hostile input: every stage has its own limit and its own message, and failure throws
 * before anything could replace the open notebook.
 *
 * A link is `#nb=1.<crc>.<data>`: the link format (1), the CRC-32 of the compressed bytes as 8 hex
 * digits, and base64url(deflateRaw(UTF-8 JSON)). The checksum makes a link damaged in copying
 * (one character changed, lost or added) fail loudly instead of opening a different notebook.
 * Links from before the checksum (`#nb=<data>`: bare DEFLATE, no marker) are refused as "damaged
 * or made by an older build": nothing in them tells an intact old link from a damaged one, and a
 * fuzz run found 1 in 6 single-character edits of one opening a different notebook.
 */

import { deflateSync } from 'fflate';
import type { NotebookDoc } from './document';
import { decodeBase64url, encodeBase64url } from './base64url';
import { orderedNotebook } from './canonical-json';
import { crc32 } from './crc32';
import { inflateCapped, InflateLimitError } from './inflate-capped';
import { loadNotebookValue } from './migrate';
import { parseJson } from './notebook-file';
import { NotebookError } from './notebook-error';
import { describeError } from '../state/errors';
import type { ValidateOptions } from './schema';

/** The hash parameter that carries a notebook. */
export const SHARE_HASH_PREFIX = '#nb=';
/** Longest hash accepted or produced (characters). Browsers cope with far more; chat apps do not. */
export const MAX_SHARE_HASH_CHARS = 256 * 1024;
/** Largest notebook JSON a link may decompress to (bytes). */
export const MAX_SHARE_JSON_BYTES = 2 << 20;
/** The link format this build writes (`#nb=1.…`); older links have no format field. */
export const SHARE_LINK_VERSION = 1;

const SOURCE = 'link';

/**
 * The hash for a share link: `#nb=1.<crc>.` + base64url(deflateRaw(UTF-8 JSON)), level 9. Throws
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
  const compressed = deflateSync(json, { level: 9 });
  const hash = `${SHARE_HASH_PREFIX}${SHARE_LINK_VERSION}.${hex8(crc32(compressed))}.${encodeBase64url(compressed)}`;
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
 * prefix, an over-long hash, a link from before checksums, a malformed format field, a checksum that does not match, invalid
 * base64url, data that does not decompress or decompresses past MAX_SHARE_JSON_BYTES, invalid
 * UTF-8 or JSON, a future version, or a schema error. Nothing else escapes it.
 *
 * @example
 * try {
 *   notebook = decodeShareHash(location.hash, { knownKinds });
 * } catch (e) {
 *   if (e instanceof NotebookError) showError(e.message); // "link: is damaged (its checksum does not match …)"
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

  if (!payload.includes('.')) {
    fail('is damaged or was made by an older Sparsebook build (it has no checksum); ask for a new link');
  }
  const compressed = checkedPayload(payload, fail);

  let bytes: Uint8Array;
  try {
    bytes = inflateCapped(compressed, MAX_SHARE_JSON_BYTES);
  } catch (e) {
    if (e instanceof InflateLimitError) {
      return fail(`decompresses to more than ${kb(MAX_SHARE_JSON_BYTES)}; refused`);
    }
    return fail(`is damaged (could not decompress: ${describeError(e).message})`, e);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    return fail('is damaged (the notebook is not UTF-8 text)', e);
  }
  return loadNotebookValue(parseJson(text, SOURCE), SOURCE, opts);
}

/** The message for a checked link whose structure or checksum is wrong. */
const damaged = (why: string) =>
  `is damaged (${why}; was a character changed, lost or added when it was copied?)`;

/** The compressed bytes of a `1.<crc>.<data>` payload, their checksum verified. */
function checkedPayload(payload: string, fail: (problem: string) => never): Uint8Array {
  const fields = payload.split('.');
  if (fields.length !== 3) return fail(damaged('its parts are not "format.checksum.data"'));
  const [format, sum, data] = fields as [string, string, string];
  if (!/^[0-9]{1,6}$/.test(format)) return fail(damaged('its format field is not a number'));
  if (Number(format) > SHARE_LINK_VERSION) {
    return fail(
      `was made by a newer Sparsebook (link format ${Number(format)}; this build reads up to ${SHARE_LINK_VERSION}), or is damaged`,
    );
  }
  if (Number(format) !== SHARE_LINK_VERSION) return fail(damaged(`unknown link format ${format}`));
  if (!/^[0-9a-f]{8}$/.test(sum)) return fail(damaged('its checksum field is malformed'));
  const bytes = decodeBase64url(data);
  if (!bytes) return fail(damaged('not valid base64url'));
  if (hex8(crc32(bytes)) !== sum) return fail(damaged('its checksum does not match'));
  return bytes;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function hashParts(hash: string): string[] {
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  return body === '' ? [] : body.split('&');
}

function kb(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}
