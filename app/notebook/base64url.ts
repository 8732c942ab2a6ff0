/**
 * Strict base64url (RFC 4648 §5, no padding) for URL hashes. Hand-written rather than btoa/atob so
 * decoding rejects every stray character instead of silently skipping it.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/**
 * Encode bytes as unpadded base64url.
 *
 * @example
 * encodeBase64url(new Uint8Array([251, 255])); // '-_8'
 */
export function encodeBase64url(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const left = bytes.length - i;
    chunk += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    if (left > 1) chunk += ALPHABET[(n >> 6) & 63]!;
    if (left > 2) chunk += ALPHABET[n & 63]!;
    // Flush now and then: repeated += on one huge string is fine in V8 but not everywhere.
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

/**
 * Decode unpadded base64url; returns `undefined` for anything malformed (a character outside the
 * alphabet, `=` padding, an impossible length, or non-zero trailing bits).
 *
 * @example
 * decodeBase64url('-_8'); // Uint8Array [251, 255]
 * decodeBase64url('a+b'); // undefined
 */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? LOOKUP[code]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, so each byte string has exactly one encoding.
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
