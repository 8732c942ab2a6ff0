/**
 * Reader for safetensors files (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets},
 * __metadata__?}`, then the data section that `data_offsets` index into.
 *
 * The whole header is validated up front, so a corrupt or hostile file fails with a message naming
 * the file and the problem before any tensor is touched; tensor data are converted lazily (and F32
 * data come back as zero-copy views when aligned, as the llama2.c reader does).
 *
 * The bytes come from a `SafetensorsSource`: the whole file in memory (`parseSafetensors`: the
 * browser's path and the tests'), or in Node a file read range by range as each tensor is asked
 * for (`openSafetensorsFile` in safetensors-node.ts), so a checkpoint never sits in memory whole.
 */
import { formatCount, ModelFormatError } from '../errors';
import { halfArray, type WeightArray } from '../../kernels/weight-dtype';
import {
  bf16IntoF32,
  bf16ToF32,
  f16IntoF32,
  f16ToF32,
  FLOAT_DTYPES,
  INT_DTYPES,
  isSafetensorsDtype,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsDtype,
} from './safetensors-dtypes';

/** The reference implementation's limit; a larger length field is garbage or an attack. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/** One tensor's header entry; `begin`/`end` are absolute byte offsets in the file. */
export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Number of elements (product of the shape; 1 for a scalar). */
  size: number;
  begin: number;
  end: number;
}

/**
 * Where a safetensors file's bytes come from: the whole file in memory, or a file read range by
 * range on demand (Node: `openSafetensorsFile`).
 */
export interface SafetensorsSource {
  /** Size of the whole file in bytes. */
  readonly byteLength: number;
  /** The whole file, when it is in memory (tensors are then views into it); absent when read lazily. */
  readonly bytes?: Uint8Array;
  /** Copy the file's bytes [begin, begin + target.byteLength) into target. */
  readInto(target: Uint8Array, begin: number): void;
  /** Release what the source holds open (a file handle); later reads fail. */
  close?(): void;
}

/** A source over a file already in memory. */
export function memorySource(bytes: Uint8Array): SafetensorsSource {
  return {
    byteLength: bytes.byteLength,
    bytes,
    readInto: (target, begin) => target.set(bytes.subarray(begin, begin + target.byteLength)),
  };
}

/** Largest scratch buffer a converting read of a lazily read file uses (then it goes chunk by chunk). */
const CONVERT_CHUNK_BYTES = 1 << 20;

/** A parsed, validated safetensors file. Data stay in the caller's buffer (or on disk) until asked for. */
export class SafetensorsFile {
  private readonly source: SafetensorsSource;

  constructor(
    readonly fileName: string,
    /** Tensors by name, in header order. */
    readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>,
    /** The `__metadata__` string map ({} when absent). */
    readonly metadata: Readonly<Record<string, string>>,
    source: Uint8Array | SafetensorsSource,
  ) {
    this.source = source instanceof Uint8Array ? memorySource(source) : source;
  }

  /**
   * True when the whole file is in memory: F32 tensors are then views into it. False for a file
   * read lazily: every tensor then comes back as a new array the caller owns.
   */
  get inMemory(): boolean {
    return this.source.bytes !== undefined;
  }

  /** Release the file handle of a lazily read file (a no-op in memory); later reads fail. */
  close(): void {
    this.source.close?.();
  }

  /** The tensor's entry, or a ModelFormatError naming the file and the missing tensor. */
  info(name: string): SafetensorsTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new ModelFormatError(this.fileName, `no tensor named "${name}"`);
    return t;
  }

  /** The tensor's raw bytes: a view (not a copy) in memory, a fresh array from a lazily read file. */
  raw(name: string): Uint8Array {
    const t = this.info(name);
    const { bytes } = this.source;
    if (bytes) return bytes.subarray(t.begin, t.end);
    const out = new Uint8Array(t.end - t.begin);
    this.source.readInto(out, t.begin);
    return out;
  }

  /**
   * The tensor as float32 (F32, F16, BF16, F64). In memory, F32 data are a view into the file's
   * buffer when 4-byte aligned (copy before mutating a shared buffer) and other dtypes are converted
   * into a new array. From a lazily read file the result is always a new array that nothing else
   * references: F32 bytes are read straight into it, other dtypes are read and converted 1 MiB at a
   * time, so no second full-size copy exists even transiently.
   *
   * @example
   * const emb = file.float32('model.embed_tokens.weight'); // Float32Array of vocab × dim
   */
  float32(name: string): Float32Array {
    const t = this.info(name);
    if (!FLOAT_DTYPES.includes(t.dtype)) {
      throw new ModelFormatError(
        this.fileName,
        `tensor "${name}" has dtype ${t.dtype}; expected a float dtype (${FLOAT_DTYPES.join(', ')})`,
      );
    }
    if (!this.source.bytes) return this.readFloat32(t);
    const raw = this.raw(name);
    const aligned = (raw.byteOffset % SAFETENSORS_DTYPE_BYTES[t.dtype] === 0 ? raw : copy(raw)) as Uint8Array;
    const { buffer, byteOffset } = aligned;
    switch (t.dtype) {
      case 'F32':
        return new Float32Array(buffer, byteOffset, t.size);
      case 'F16':
        return f16ToF32(new Uint16Array(buffer, byteOffset, t.size));
      case 'BF16':
        return bf16ToF32(new Uint16Array(buffer, byteOffset, t.size));
      default:
        return Float32Array.from(new Float64Array(buffer, byteOffset, t.size));
    }
  }

  /**
   * The tensor as a weight is held (kernels/weight-dtype.ts): F16 and BF16 keep their 16-bit bits
   * (a view into the file's buffer when in memory and 2-byte aligned, else a new array; read
   * straight into a new array from a lazily read file), so no float32 copy is made; F32 and F64
   * come back as `float32`.
   *
   * @example
   * const w = file.weight('model.layers.0.mlp.up_proj.weight'); // { dtype: 'bf16', bits } for a BF16 file
   */
  weight(name: string): WeightArray {
    const t = this.info(name);
    if (t.dtype !== 'F16' && t.dtype !== 'BF16') return this.float32(name);
    const dtype = t.dtype === 'F16' ? 'f16' : 'bf16';
    const { bytes } = this.source;
    if (bytes && (bytes.byteOffset + t.begin) % 2 === 0)
      return halfArray(dtype, new Uint16Array(bytes.buffer, bytes.byteOffset + t.begin, t.size));
    const bits = new Uint16Array(t.size);
    this.source.readInto(new Uint8Array(bits.buffer), t.begin);
    return halfArray(dtype, bits);
  }

  /** float32 of a tensor of a lazily read file: one output array, a bounded scratch buffer. */
  private readFloat32(t: SafetensorsTensorInfo): Float32Array {
    const out = new Float32Array(t.size);
    if (t.dtype === 'F32') {
      this.source.readInto(new Uint8Array(out.buffer), t.begin);
      return out;
    }
    const el = SAFETENSORS_DTYPE_BYTES[t.dtype];
    const chunk = Math.max(1, Math.floor(CONVERT_CHUNK_BYTES / el));
    const scratch = new ArrayBuffer(Math.min(t.size, chunk) * el);
    for (let i = 0; i < t.size; i += chunk) {
      const m = Math.min(chunk, t.size - i);
      this.source.readInto(new Uint8Array(scratch, 0, m * el), t.begin + i * el);
      if (t.dtype === 'F16') f16IntoF32(new Uint16Array(scratch, 0, m), out, i);
      else if (t.dtype === 'BF16') bf16IntoF32(new Uint16Array(scratch, 0, m), out, i);
      else out.set(new Float64Array(scratch, 0, m), i);
    }
    return out;
  }

  /**
   * The tensor as int32 (BOOL, U8, I8, I16, U16, I32, U32, I64, U64); values outside the int32
   * range are an error rather than silently wrapped.
   *
   * @example
   * const tokens = reference.int32('tokens'); // Int32Array [T]
   */
  int32(name: string): Int32Array {
    const t = this.info(name);
    if (!INT_DTYPES.includes(t.dtype)) {
      throw new ModelFormatError(
        this.fileName,
        `tensor "${name}" has dtype ${t.dtype}; expected an integer dtype (${INT_DTYPES.join(', ')})`,
      );
    }
    // A fresh copy starts at offset 0 (a lazily read file's raw bytes already are one).
    const { buffer } = this.source.bytes ? copy(this.raw(name)) : this.raw(name);
    const n = t.size;
    if (t.dtype === 'I32') return new Int32Array(buffer, 0, n);
    const src = intView(t.dtype, buffer, n);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(src[i]!);
      if (v < -(2 ** 31) || v >= 2 ** 31) {
        throw new ModelFormatError(
          this.fileName,
          `tensor "${name}" (${t.dtype}) holds ${String(src[i])} at index ${i}, outside the int32 range`,
        );
      }
      out[i] = v;
    }
    return out;
  }
}

/**
 * A copy in a fresh buffer at offset 0. (Not `.slice()`: on a Node Buffer, which `readFileSync`
 * returns, `slice` is a view of the same memory.)
 */
function copy(u8: Uint8Array): Uint8Array {
  return new Uint8Array(u8);
}

function intView(dtype: SafetensorsDtype, buffer: ArrayBufferLike, n: number): ArrayLike<number | bigint> {
  switch (dtype) {
    case 'I8':
      return new Int8Array(buffer, 0, n);
    case 'I16':
      return new Int16Array(buffer, 0, n);
    case 'U16':
      return new Uint16Array(buffer, 0, n);
    case 'U32':
      return new Uint32Array(buffer, 0, n);
    case 'I64':
      return new BigInt64Array(buffer, 0, n);
    case 'U64':
      return new BigUint64Array(buffer, 0, n);
    default: // BOOL, U8
      return new Uint8Array(buffer, 0, n);
  }
}

/**
 * Parse and validate a safetensors file's header.
 *
 * @example
 * const st = parseSafetensors(await file.arrayBuffer(), 'model.safetensors');
 * st.tensors.get('lm_head.weight')?.shape; // [vocab, dim]
 * @throws ModelFormatError naming `fileName` for a bad header length, a header that is not a
 *   UTF-8 JSON object, an unknown dtype, a bad shape, offsets outside the data section, a byte
 *   length that disagrees with shape × dtype, or overlapping tensors.
 */
export function parseSafetensors(
  bytes: ArrayBuffer | Uint8Array,
  fileName: string,
  opts: { maxHeaderBytes?: number } = {},
): SafetensorsFile {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return readSafetensors(memorySource(u8), fileName, opts);
}

/**
 * Parse and validate the header of a safetensors file held by `source` (reading only the header's
 * bytes from it); the tensors are read from the source when asked for.
 *
 * @throws ModelFormatError as `parseSafetensors`.
 */
export function readSafetensors(
  source: SafetensorsSource,
  fileName: string,
  opts: { maxHeaderBytes?: number } = {},
): SafetensorsFile {
  const total = source.byteLength;
  const read = (begin: number, end: number): Uint8Array => {
    if (source.bytes) return source.bytes.subarray(begin, end);
    const out = new Uint8Array(end - begin);
    source.readInto(out, begin);
    return out;
  };
  const fail = (problem: string): never => {
    throw new ModelFormatError(fileName, problem);
  };
  if (total < 8) {
    fail(`truncated safetensors file: ${total} bytes, fewer than the 8-byte header length field`);
  }
  const lengthField = read(0, 8);
  const view = new DataView(lengthField.buffer, lengthField.byteOffset, 8);
  const declared = view.getBigUint64(0, true);
  const maxHeader = opts.maxHeaderBytes ?? MAX_SAFETENSORS_HEADER_BYTES;
  if (declared > BigInt(maxHeader)) {
    fail(
      `invalid safetensors header length ${formatCount(Number(declared))} bytes: more than the ${formatCount(maxHeader)}-byte limit; is this a safetensors file?`,
    );
  }
  const headerLen = Number(declared);
  if (headerLen > total - 8) {
    fail(
      `truncated safetensors file: the header length field says ${formatCount(headerLen)} bytes but only ${formatCount(total - 8)} follow it`,
    );
  }
  const header = parseHeaderJson(read(8, 8 + headerLen), fail);
  const dataStart = 8 + headerLen;
  const dataBytes = total - dataStart;

  let metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = checkMetadata(entry, fail);
      continue;
    }
    const info = checkEntry(name, entry, dataBytes, fail);
    tensors.set(name, { ...info, begin: info.begin + dataStart, end: info.end + dataStart });
  }
  checkNoOverlap([...tensors.values()], dataStart, fail);
  return new SafetensorsFile(fileName, tensors, metadata, source);
}

function parseHeaderJson(raw: Uint8Array, fail: (p: string) => never): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return fail('invalid safetensors header: not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const start = JSON.stringify(text.slice(0, 40));
    return fail(`invalid safetensors header: not JSON (${(e as Error).message}); it starts ${start}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail(
      `invalid safetensors header: expected a JSON object, found ${Array.isArray(json) ? 'an array' : String(json)}`,
    );
  }
  // JSON.parse keeps the last of two equal keys: a tensor listed twice would silently lose one.
  const twice = repeatedKey(text);
  if (twice !== null) {
    fail(
      `invalid safetensors header: ${JSON.stringify(twice)} is listed twice (duplicate keys are not allowed)`,
    );
  }
  return json as Record<string, unknown>;
}

/**
 * The first key that the header's top-level object repeats, or null: a linear scan of the text,
 * which JSON.parse has already accepted as an object (so strings and brackets are well formed).
 */
function repeatedKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c) {
          escaped = true;
          i++;
        }
      }
      if (depth !== 1) continue;
      let j = i + 1;
      while (text.charCodeAt(j) <= 0x20) j++; // JSON whitespace
      if (text.charCodeAt(j) !== 0x3a) continue; // a value, not a key
      const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return null;
}

function checkMetadata(entry: unknown, fail: (p: string) => never): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return fail('invalid safetensors header: __metadata__ must be an object of strings');
  }
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string') fail(`invalid safetensors header: __metadata__.${k} is not a string`);
  }
  return entry as Record<string, string>;
}

/** Validate one entry; offsets are returned relative to the data section. */
function checkEntry(
  name: string,
  entry: unknown,
  dataBytes: number,
  fail: (p: string) => never,
): SafetensorsTensorInfo {
  const where = `tensor "${name}"`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return fail(`invalid safetensors header: ${where} is not an object with dtype, shape and data_offsets`);
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (!isSafetensorsDtype(dtype)) {
    const found = dtype === undefined ? 'no dtype' : `unknown dtype ${JSON.stringify(dtype)}`;
    return fail(`${where} has ${found}; known: ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(', ')}`);
  }
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    const found = shape === undefined ? 'no shape' : `an invalid shape ${JSON.stringify(shape)}`;
    return fail(`${where} has ${found}; expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    const found =
      offsets === undefined ? 'no data_offsets' : `invalid data_offsets ${JSON.stringify(offsets)}`;
    return fail(`${where} has ${found}; expected [begin, end] byte offsets`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${where} has data_offsets [${begin}, ${end}] with begin after end`);
  if (end > dataBytes) {
    fail(
      `${where} has data_offsets [${formatCount(begin)}, ${formatCount(end)}] past the end of the ${formatCount(dataBytes)}-byte data section (truncated file?)`,
    );
  }
  const size = shape.reduce((n: number, d: number) => n * d, 1);
  const expected = size * SAFETENSORS_DTYPE_BYTES[dtype];
  if (expected !== end - begin) {
    fail(
      `${where}: shape [${shape.join(', ')}] × ${dtype} needs ${formatCount(expected)} bytes but data_offsets [${formatCount(begin)}, ${formatCount(end)}] span ${formatCount(end - begin)}`,
    );
  }
  return { name, dtype, shape: shape as number[], size, begin, end };
}

/** Tensors may leave gaps but must not share bytes (sorted sweep; empty tensors overlap nothing). */
function checkNoOverlap(list: SafetensorsTensorInfo[], dataStart: number, fail: (p: string) => never): void {
  const sorted = list.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.begin < a.end) {
      const range = (t: SafetensorsTensorInfo) => `[${t.begin - dataStart}, ${t.end - dataStart}]`;
      fail(`tensors "${a.name}" ${range(a)} and "${b.name}" ${range(b)} overlap in the data section`);
    }
  }
}
