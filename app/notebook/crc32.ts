/**
 * CRC-32 (IEEE 802.3, the one zip and PNG use): the integrity check of share links and reports.
 * Not a defence against someone who means harm (anyone can recompute it), but it catches every
 * burst of damage up to 32 bits long, so one changed character of a link or one changed byte of a
 * report is always detected, and anything else is missed only with probability 2^-32.
 */

const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/**
 * The CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before them) when given.
 *
 * @example
 * crc32(new TextEncoder().encode('123456789')); // 0xcbf43926
 * crc32(b, crc32(a)) === crc32(concat(a, b)); // true
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
