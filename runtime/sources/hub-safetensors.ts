/**
 * Reading the parts of a hub repository's weights that come before the tensor data: the shard
 * list of `model.safetensors.index.json`, and a safetensors file's header, fetched by byte ranges
 * (from the hub, or from a cached copy) and validated before any tensor data is asked for.
 */
import { ModelFormatError } from '../errors';
import {
  MAX_SAFETENSORS_HEADER_BYTES,
  readSafetensors,
  type SafetensorsFile,
  type SafetensorsSource,
} from '../formats/safetensors';

/**
 * The shard file names of a `model.safetensors.index.json`, sorted, each a `.safetensors` file
 * beside it.
 *
 * @throws ModelFormatError naming `fileName` for anything else.
 */
export function shardNames(bytes: Uint8Array, fileName: string): string[] {
  let index: unknown;
  try {
    index = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ModelFormatError(fileName, `not a JSON file (${(e as Error).message})`);
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new ModelFormatError(fileName, 'no "weight_map" object');
  }
  const names = [...new Set(Object.values(map as Record<string, unknown>))];
  const bad = names.find((n) => typeof n !== 'string' || !/^[\w.-]+\.safetensors$/.test(n));
  if (bad !== undefined) {
    throw new ModelFormatError(
      fileName,
      `weight_map names ${JSON.stringify(bad)}, not a .safetensors file beside it`,
    );
  }
  if (names.length === 0) throw new ModelFormatError(fileName, 'the weight_map is empty');
  return (names as string[]).sort();
}

/** A safetensors header read by ranges: the parsed file (its data not readable) and its bytes. */
export interface RemoteSafetensorsHeader {
  /** Tensors and offsets; reading tensor data from it throws (fetch them by range instead). */
  file: SafetensorsFile;
  /** The file's first bytes: the length field and the header (what a cached copy starts with). */
  prefix: Uint8Array;
  /** Where the data section starts (= prefix.byteLength). */
  dataStart: number;
}

/**
 * Read and validate the header of a safetensors file of `size` bytes through `read(begin, end)`:
 * the 8-byte length field first (a length over the 100 MB limit, or past the file's end, is
 * refused before anything else is read), then the header, checked as `readSafetensors` checks it
 * (JSON, dtypes, shapes, offsets inside the file, no overlaps).
 *
 * @example
 * const h = await readSafetensorsHeader((b, e) => fetchRange(url, b, e, o), info.size, 'model.safetensors');
 * h.file.tensors.get('wte.weight')?.shape;
 * @throws ModelFormatError naming `fileName`.
 */
export async function readSafetensorsHeader(
  read: (begin: number, end: number) => Promise<Uint8Array>,
  size: number,
  fileName: string,
): Promise<RemoteSafetensorsHeader> {
  if (size < 8) {
    throw new ModelFormatError(
      fileName,
      `truncated safetensors file: ${size} bytes, fewer than the 8-byte header length field`,
    );
  }
  const lengthField = await read(0, 8);
  const declared = new DataView(lengthField.buffer, lengthField.byteOffset, 8).getBigUint64(0, true);
  // Past the limit or the end: let the parser name the problem from the length field alone.
  const fits = declared <= BigInt(MAX_SAFETENSORS_HEADER_BYTES) && Number(declared) <= size - 8;
  const header = fits ? await read(8, 8 + Number(declared)) : new Uint8Array(0);
  const prefix = new Uint8Array(8 + header.byteLength);
  prefix.set(lengthField);
  prefix.set(header, 8);
  const source: SafetensorsSource = {
    byteLength: size,
    readInto(target, begin) {
      if (begin + target.byteLength > prefix.byteLength) {
        throw new ModelFormatError(fileName, 'tensor data are fetched by range, not read from the header');
      }
      target.set(prefix.subarray(begin, begin + target.byteLength));
    },
  };
  const file = readSafetensors(source, fileName);
  return { file, prefix, dataStart: prefix.byteLength };
}
