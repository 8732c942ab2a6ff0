/**
 * The element types a safetensors file may declare, their sizes, and the float conversions the
 * reader and writer share (half and bfloat16 ↔ float32, round-to-nearest-even like PyTorch).
 */
import { decodeInto } from '../../kernels/weight-dtype';

/** Bytes per element of every dtype in the safetensors spec (F8 variants included). */
export const SAFETENSORS_DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;

/** Dtypes that convert to Float32Array (F8 is listed as known but not converted). */
export const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** Dtypes that convert to Int32Array (64-bit values are range-checked). */
export const INT_DTYPES: readonly SafetensorsDtype[] = [
  'BOOL',
  'U8',
  'I8',
  'I16',
  'U16',
  'I32',
  'U32',
  'I64',
  'U64',
];

export function isSafetensorsDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BYTES, s);
}

// One shared scratch word reinterprets float32 bits without allocating.
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half bits → float32 array. */
export function f16ToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  f16IntoF32(src, out, 0);
  return out;
}

/** bfloat16 bits → float32 array (bf16 is the top half of a float32). */
export function bf16ToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  bf16IntoF32(src, out, 0);
  return out;
}

/** IEEE half bits → float32, written into out[at..at + src.length) (chunked conversions). */
export function f16IntoF32(src: Uint16Array, out: Float32Array, at: number): void {
  decodeInto('f16', src, 0, src.length, out, at);
}

/** bfloat16 bits → float32, written into out[at..at + src.length) (chunked conversions). */
export function bf16IntoF32(src: Uint16Array, out: Float32Array, at: number): void {
  decodeInto('bf16', src, 0, src.length, out, at);
}

/** float32 → bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
export function f32ToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → IEEE half bits, round to nearest even, overflow to ±Infinity, subnormals kept. */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1 into 10 bits.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // Rounding may carry into the exponent, which correctly yields the next power of two or Inf.
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++;
  return sign | r;
}
