/**
 * 16-bit float weights, kept as stored (README "Precision"): a checkpoint's F16 / BF16 matrices
 * stay 16-bit on the host and in backend memory, and the kernels that read weights (matmul's b,
 * embedding's table) decode each value as they load it. Decoding is exact (every f16 and bf16
 * value is a float32), so a 16-bit model computes what its float32 conversion computes.
 *
 * This file holds the host side: the array type, byte sizes and the decoders the CPU kernels and
 * the safetensors reader share. The WGSL decoders are in weight-dtype.wgsl.ts.
 */

/** A 16-bit float storage type: IEEE half, or bfloat16 (the top half of a float32). */
export type HalfDType = 'f16' | 'bf16';

/** Element types a weight may be held in. */
export type WeightDType = 'f32' | HalfDType;

/** A 16-bit weight on the host: the stored bits, one Uint16 per value, and how to read them. */
export interface HalfArray {
  readonly dtype: HalfDType;
  readonly bits: Uint16Array;
}

/** A weight on the host: float32 values, or 16-bit bits kept as stored. */
export type WeightArray = Float32Array | HalfArray;

export function halfArray(dtype: HalfDType, bits: Uint16Array): HalfArray {
  return { dtype, bits };
}

export function isHalf(x: WeightArray): x is HalfArray {
  return !(x instanceof Float32Array);
}

export function isHalfDType(d: string): d is HalfDType {
  return d === 'f16' || d === 'bf16';
}

/** The weight's element type. */
export function weightDTypeOf(x: WeightArray): WeightDType {
  return isHalf(x) ? x.dtype : 'f32';
}

/** Number of values. */
export function weightLength(x: WeightArray): number {
  return isHalf(x) ? x.bits.length : x.length;
}

/** Bytes per value. */
export function bytesPerValue(dtype: WeightDType): number {
  return dtype === 'f32' ? 4 : 2;
}

/**
 * Bytes a tensor of `n` values of `dtype` takes in a WebGPU storage buffer: 16-bit values are
 * packed two to a u32 word (`array<u32>`), so an odd count is padded by one value.
 */
export function storageBytes(dtype: WeightDType | 'i32', n: number): number {
  return dtype === 'f16' || dtype === 'bf16' ? Math.ceil(n / 2) * 4 : n * 4;
}

let halfTable: Float32Array | undefined;

/** All 65,536 half-precision values as float32 (256 KB, built on first use). */
export function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v: number;
    if (exp === 0)
      v = frac * 2 ** -24; // subnormal (or zero)
    else if (exp === 31) v = frac ? NaN : Infinity;
    else v = (1 + frac / 1024) * 2 ** (exp - 15);
    halfTable[h] = sign * v;
  }
  return halfTable;
}

/**
 * Decode `count` 16-bit values src[from..from + count) into out[at..at + count): f16 through the
 * table, bf16 by a 16-bit shift into float32 bits (NaN payloads, ±Infinity, subnormals kept).
 */
export function decodeInto(
  dtype: HalfDType,
  src: Uint16Array,
  from: number,
  count: number,
  out: Float32Array,
  at: number,
): void {
  if (dtype === 'f16') {
    const table = halfToFloatTable();
    for (let i = 0; i < count; i++) out[at + i] = table[src[from + i]!]!;
    return;
  }
  const bits = new Uint32Array(out.buffer, out.byteOffset + at * 4, count);
  for (let i = 0; i < count; i++) bits[i] = src[from + i]! << 16;
}

/** The weight as float32: the array itself when it is one, else a decoded copy. */
export function toFloat32(x: WeightArray): Float32Array {
  if (!isHalf(x)) return x;
  const out = new Float32Array(x.bits.length);
  decodeInto(x.dtype, x.bits, 0, x.bits.length, out, 0);
  return out;
}

/** Index of the first NaN or ±Infinity among 16-bit bits (all-ones exponent), or −1. */
export function firstNonFiniteHalf(x: HalfArray): number {
  const mask = x.dtype === 'f16' ? 0x7c00 : 0x7f80;
  const { bits } = x;
  for (let i = 0; i < bits.length; i++) if ((bits[i]! & mask) === mask) return i;
  return -1;
}

/** The value at index i, as a number (messages). */
export function weightValueAt(x: WeightArray, i: number): number {
  if (!isHalf(x)) return x[i]!;
  const one = new Float32Array(1);
  decodeInto(x.dtype, x.bits, i, 1, one, 0);
  return one[0]!;
}

/** A copy of the weight in a fresh array (same element type). */
export function copyWeight(x: WeightArray): WeightArray {
  return isHalf(x) ? halfArray(x.dtype, x.bits.slice()) : x.slice();
}
