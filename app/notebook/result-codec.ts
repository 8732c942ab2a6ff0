/**
 * A cell result as one byte string (for IndexedDB and, later, reports): a little-endian u32 header
 * length, a JSON header `{meta, tables: [[name, byteLength], …]}`, then each table's Arrow IPC bytes.
 */
import type { CellResult, Json } from './cell-runtime';

const MAGIC = 'sbr1';

export function encodeResult(result: CellResult): Uint8Array {
  const names = Object.keys(result.tables);
  const header = new TextEncoder().encode(
    JSON.stringify({
      magic: MAGIC,
      meta: result.meta,
      tables: names.map((n) => [n, result.tables[n]!.length]),
    }),
  );
  const total = 4 + header.length + names.reduce((s, n) => s + result.tables[n]!.length, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  let at = 4 + header.length;
  for (const n of names) {
    out.set(result.tables[n]!, at);
    at += result.tables[n]!.length;
  }
  return out;
}

/** @throws Error when the bytes are not an encoded result (a damaged cache entry). */
export function decodeResult(bytes: Uint8Array): CellResult {
  if (bytes.length < 4) throw new Error('cell result: too short');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + headerLength > bytes.length) throw new Error('cell result: header past the end');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as {
    magic?: string;
    meta: Json;
    tables: [string, number][];
  };
  if (header.magic !== MAGIC || !Array.isArray(header.tables)) throw new Error('cell result: unknown format');
  const tables: Record<string, Uint8Array> = {};
  let at = 4 + headerLength;
  for (const [name, length] of header.tables) {
    if (at + length > bytes.length) throw new Error(`cell result: table ${name} past the end`);
    tables[name] = bytes.slice(at, at + length);
    at += length;
  }
  return { meta: header.meta, tables };
}
