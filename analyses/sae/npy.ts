/**
 * NumPy's `.npy` and `.npz` files (Gemma Scope ships its SAEs as `params.npz`), read strictly into
 * float32: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html.
 *
 * `.npz` is a zip of `.npy` members (stored or deflated); the zip is read with fflate, already a
 * dependency. The `.npy` reader is our own, small and strict, rather than the npm `npyjs`: npyjs
 * reads every byte after the header as data without checking it against the shape (a truncated
 * file comes back as a shorter array), finds the header's fields with regular expressions (a
 * malformed header can pass), reads big-endian data as if little-endian for some types, and
 * depends on a fetch polyfill. Here the header is parsed as the Python literal it is, the data
 * length must equal shape × item size exactly, Fortran-ordered 2-D arrays are transposed into
 * row-major order, and every problem is a ModelFormatError naming the file and the member, e.g.
 * `params.npz: W_enc.npy: truncated: shape (2304, 16384) of <f4 needs 150,994,944 bytes, found 1,024`.
 */
import { unzipSync } from 'fflate';
import { formatCount, ModelFormatError } from '../../runtime/errors';

/** One array, converted to float32, row-major. */
export interface NpyArray {
  /** The `descr` of the header, e.g. `<f4`. */
  dtype: string;
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Item sizes of the dtypes read (floats only: SAE parameters are floating point). */
const ITEM_BYTES: Record<string, number> = { f2: 2, f4: 4, f8: 8 };
/** A member larger than this is refused before it is decompressed (a zip bomb, or not an SAE). */
const MAX_MEMBER_BYTES = 2 ** 32;
/** Past 32 MiB, a deflated member may inflate at most 64× (float arrays compress about 1.1×). */
const FREE_BYTES = 32 << 20;
const MAX_EXPANSION = 64;

/**
 * Parse one `.npy` file.
 *
 * @example
 * const { shape, data } = parseNpy(bytes, 'W_enc.npy'); // shape [2304, 16384]
 * @throws ModelFormatError naming `fileName` for a bad magic, header, dtype or length.
 */
export function parseNpy(bytes: Uint8Array, fileName: string): NpyArray {
  const bad = (problem: string): never => {
    throw new ModelFormatError(fileName, problem);
  };
  if (bytes.byteLength < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    bad('not a .npy file (it does not start with \\x93NUMPY)');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (!(major >= 1 && major <= 3) || minor !== 0) bad(`unsupported .npy format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.byteLength < 8 + lengthBytes) bad('truncated header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.byteLength) {
    bad(
      `truncated header: it declares ${formatCount(headerLength)} bytes, the file has ${formatCount(bytes.byteLength)}`,
    );
  }
  const headerBytes = bytes.subarray(8 + lengthBytes, dataStart);
  const header =
    major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(headerBytes) : latin1(headerBytes);
  const dict = parseHeader(header, bad);
  const keys = Object.keys(dict).sort().join(',');
  if (keys !== 'descr,fortran_order,shape') {
    bad(`header keys are {${keys}}, expected descr, fortran_order and shape`);
  }
  const {
    descr,
    fortran_order: fortran,
    shape,
  } = dict as {
    descr: unknown;
    fortran_order: unknown;
    shape: unknown;
  };
  if (typeof descr !== 'string') bad(`descr is ${JSON.stringify(descr)}, expected a dtype string`);
  if (typeof fortran !== 'boolean') bad('fortran_order is not True or False');
  if (!Array.isArray(shape)) bad('shape is not a tuple');
  const dims = shape as number[];
  const dtype = descr as string;
  const m = /^([<>|=])(f[248])$/.exec(dtype);
  if (!m) bad(`dtype ${dtype} is not supported (expected a float: <f4, <f2 or <f8)`);
  const [, order, code] = m!;
  const itemBytes = ITEM_BYTES[code!]!;
  const bigEndian = order === '>';
  let count = 1;
  for (const d of dims) count *= d;
  const need = count * itemBytes;
  const have = bytes.byteLength - dataStart;
  const shapeText = `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
  if (have < need) {
    bad(
      `truncated: shape ${shapeText} of ${dtype} needs ${formatCount(need)} bytes, found ${formatCount(have)}`,
    );
  }
  if (have > need) {
    bad(
      `${formatCount(have - need)} bytes after the data of shape ${shapeText} (${formatCount(need)} bytes)`,
    );
  }
  let data: Float32Array = new Float32Array(count);
  if (code === 'f4' && !bigEndian) {
    // The common case, copied whole (the copy also aligns data a zip member left unaligned).
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + need));
  } else
    for (let i = 0; i < count; i++) {
      const at = dataStart + i * itemBytes;
      data[i] =
        code === 'f4'
          ? view.getFloat32(at, !bigEndian)
          : code === 'f8'
            ? view.getFloat64(at, !bigEndian)
            : halfToFloat(view.getUint16(at, !bigEndian));
    }
  if (fortran && dims.length > 1) {
    if (dims.length !== 2) bad(`Fortran-ordered arrays of ${dims.length} dimensions are not supported`);
    data = transpose(data, dims[0]!, dims[1]!);
  }
  return { dtype, shape: dims, data };
}

/**
 * Read every array of a `.npz` archive, by name without the `.npy` extension.
 *
 * @example
 * const arrays = parseNpz(bytes, 'params.npz'); // Map { 'W_enc' => { shape: [2304, 16384], … }, … }
 * @throws ModelFormatError naming the file (and the member) for a bad archive or array.
 */
export function parseNpz(bytes: Uint8Array, fileName: string): Map<string, NpyArray> {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes, {
      filter: (f) => {
        if (f.originalSize > MAX_MEMBER_BYTES) {
          throw new ModelFormatError(
            fileName,
            `${f.name} is ${formatCount(f.originalSize)} bytes uncompressed, more than this reader takes (${formatCount(MAX_MEMBER_BYTES)})`,
          );
        }
        if (f.originalSize > Math.max(FREE_BYTES, MAX_EXPANSION * f.size)) {
          throw new ModelFormatError(
            fileName,
            `${f.name} would inflate ${formatCount(f.size)} bytes to ${formatCount(f.originalSize)}; refused`,
          );
        }
        return true;
      },
    });
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    throw new ModelFormatError(fileName, `not a readable .npz (zip) archive (${(e as Error).message})`);
  }
  const out = new Map<string, NpyArray>();
  for (const [name, member] of Object.entries(members)) {
    if (name.endsWith('/')) continue;
    if (!name.endsWith('.npy')) {
      throw new ModelFormatError(fileName, `member "${name}" is not a .npy array`);
    }
    out.set(name.slice(0, -4), parseNpy(member, `${fileName}: ${name}`));
  }
  if (out.size === 0) throw new ModelFormatError(fileName, 'the archive holds no arrays');
  return out;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Row-major [rows, cols] from the column-major (Fortran-order) layout of the same array. */
function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = src[c * rows + r]!;
  return out;
}

type PyValue = string | boolean | number | PyValue[] | { [k: string]: PyValue };

/**
 * The header's Python dict literal: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`
 * followed by spaces and a newline. Only what numpy writes is accepted: quoted strings, True /
 * False, non-negative integers, tuples, one dict.
 */
function parseHeader(text: string, bad: (p: string) => never): Record<string, PyValue> {
  let i = 0;
  const fail = (what: string): never =>
    bad(`malformed header (${what} at character ${i}): ${JSON.stringify(text.trim())}`);
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const value = (): PyValue => {
    space();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('an unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '(') {
      i++;
      const items: PyValue[] = [];
      for (;;) {
        space();
        if (text[i] === ')') {
          i++;
          return items;
        }
        const v = value();
        if (typeof v !== 'number') fail('a shape entry that is not an integer');
        items.push(v);
        space();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') fail('a missing comma in a tuple');
      }
    }
    if (c === '{') {
      i++;
      const obj: Record<string, PyValue> = {};
      for (;;) {
        space();
        if (text[i] === '}') {
          i++;
          return obj;
        }
        const k = value();
        if (typeof k !== 'string') fail('a key that is not a string');
        space();
        if (text[i] !== ':') fail('a missing colon');
        i++;
        if (Object.hasOwn(obj, k as string)) fail(`a repeated key '${k as string}'`);
        obj[k as string] = value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail('a missing comma in the dict');
      }
    }
    for (const [word, v] of [
      ['True', true],
      ['False', false],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const num = /^\d+/.exec(text.slice(i));
    if (num) {
      i += num[0].length;
      const n = Number(num[0]);
      if (!Number.isSafeInteger(n)) fail('an integer too large');
      return n;
    }
    return fail('an unexpected character');
  };
  const dict = value();
  space();
  if (text.slice(i).trim() !== '') fail('text after the dict');
  if (typeof dict !== 'object' || Array.isArray(dict)) bad('the header is not a dict');
  return dict as Record<string, PyValue>;
}
