/**
 * Writer for safetensors files, used to export pruned models and trained SAEs, and by tests to
 * build checkpoints. The layout follows the Python library: tensors ordered by decreasing element
 * size (then name) so every tensor starts aligned to its element size, and the JSON header padded
 * with spaces to a multiple of 8 bytes so the data section starts 8-byte aligned.
 */
import {
  f32ToBf16Bits,
  f32ToF16Bits,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsDtype,
} from './safetensors-dtypes';

/** One tensor to write. Float dtypes take float values, integer dtypes integer values. */
export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Element values in row-major order; converted to `dtype` (F16/BF16 round to nearest even). */
  data: ArrayLike<number>;
}

/**
 * Serialize tensors (and optional string metadata) as a safetensors file.
 *
 * @example
 * const bytes = writeSafetensors([{ name: 'w', dtype: 'BF16', shape: [2, 2], data: [1, 2, 3, 4] }], { format: 'pt' });
 * parseSafetensors(bytes, 'w.safetensors').float32('w'); // Float32Array [1, 2, 3, 4]
 * @throws Error for a duplicate or reserved name, a data length that disagrees with the shape, or
 *   an unsupported dtype (F8 variants); these are programming errors, not bad user input.
 */
export function writeSafetensors(
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new Error('writeSafetensors: "__metadata__" is reserved');
    if (seen.has(t.name)) throw new Error(`writeSafetensors: duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    const size = t.shape.reduce((n, d) => n * d, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || size !== t.data.length) {
      throw new Error(
        `writeSafetensors: "${t.name}" has ${t.data.length} values for shape [${t.shape.join(', ')}]`,
      );
    }
  }
  const ordered = [...tensors].sort(
    (a, b) =>
      SAFETENSORS_DTYPE_BYTES[b.dtype] - SAFETENSORS_DTYPE_BYTES[a.dtype] ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const t of ordered) {
    const n = t.data.length * SAFETENSORS_DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const t of ordered) {
    encode(t, view, pos);
    pos += t.data.length * SAFETENSORS_DTYPE_BYTES[t.dtype];
  }
  return out;
}

/** Write t.data at byte `pos` as little-endian values of t.dtype. */
function encode(t: SafetensorsTensorInput, view: DataView, pos: number): void {
  const d = t.data;
  const n = d.length;
  const each = (size: number, put: (at: number, v: number) => void) => {
    for (let i = 0; i < n; i++) put(pos + i * size, d[i]!);
  };
  const int = (lo: number, hi: number) => (v: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new Error(`writeSafetensors: "${t.name}" value ${v} does not fit ${t.dtype}`);
    }
    return v;
  };
  switch (t.dtype) {
    case 'F32':
      // Bulk copy: the sort keeps F32 data 4-byte aligned and every target is little-endian.
      new Float32Array(view.buffer, pos, n).set(d);
      return;
    case 'F64':
      return each(8, (at, v) => view.setFloat64(at, v, true));
    case 'F16':
      return each(2, (at, v) => view.setUint16(at, f32ToF16Bits(v), true));
    case 'BF16':
      return each(2, (at, v) => view.setUint16(at, f32ToBf16Bits(v), true));
    case 'BOOL':
      return each(1, (at, v) => view.setUint8(at, v ? 1 : 0));
    case 'U8':
      return each(1, (at, v) => view.setUint8(at, int(0, 255)(v)));
    case 'I8':
      return each(1, (at, v) => view.setInt8(at, int(-128, 127)(v)));
    case 'I16':
      return each(2, (at, v) => view.setInt16(at, int(-32768, 32767)(v), true));
    case 'U16':
      return each(2, (at, v) => view.setUint16(at, int(0, 65535)(v), true));
    case 'I32':
      return each(4, (at, v) => view.setInt32(at, int(-(2 ** 31), 2 ** 31 - 1)(v), true));
    case 'U32':
      return each(4, (at, v) => view.setUint32(at, int(0, 2 ** 32 - 1)(v), true));
    case 'I64':
      return each(8, (at, v) => view.setBigInt64(at, BigInt(int(-(2 ** 53), 2 ** 53)(v)), true));
    case 'U64':
      return each(8, (at, v) => view.setBigUint64(at, BigInt(int(0, 2 ** 53)(v)), true));
    default:
      throw new Error(`writeSafetensors: writing ${t.dtype} is not supported`);
  }
}
