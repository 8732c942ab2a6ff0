import type { AnyTypedArray, DType, FloatDType, Tensor, TypedArrayFor } from './tensor';
import { dtypeOf, sizeOf } from './tensor';
import { decodeInto, type HalfDType } from './weight-dtype';

/**
 * A tensor of the CPU backend: a row-major TypedArray (f16 / bf16 weights: their stored bits in a
 * Uint16Array, with the dtype given, since the array alone cannot say which).
 */
export class CpuTensor<D extends DType = DType> implements Tensor<D> {
  readonly backend = 'cpu' as const;
  readonly size: number;
  readonly dtype: D;
  constructor(
    readonly data: TypedArrayFor<D>,
    readonly shape: readonly number[],
    halfDType?: D & HalfDType,
  ) {
    this.size = sizeOf(shape);
    if (data instanceof Uint16Array) {
      if (!halfDType) throw new Error('a Uint16Array tensor needs its dtype (f16 or bf16)');
      this.dtype = halfDType;
    } else this.dtype = dtypeOf(data as AnyTypedArray) as D;
    if (data.length !== this.size) {
      throw new Error(
        `tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${this.size}`,
      );
    }
  }
}

export function cpu<D extends DType>(t: Tensor<D>): CpuTensor<D> {
  if (!(t instanceof CpuTensor))
    throw new Error(`expected a cpu tensor, got one from the ${t.backend} backend`);
  return t as CpuTensor<D>;
}

export function f32(data: Float32Array, shape: readonly number[]): CpuTensor<'f32'> {
  return new CpuTensor<'f32'>(data, shape);
}

/** Rows and columns of a tensor viewed as a matrix over its last dimension. */
export function rowsCols(shape: readonly number[]): [rows: number, cols: number] {
  const cols = shape[shape.length - 1] ?? 1;
  return [cols === 0 ? 0 : sizeOf(shape) / cols, cols];
}

/**
 * Rows [row0, row0 + count) of a weight [rows, cols] as float32: a view of an f32 tensor, decoded
 * into `scratch` (at least count · cols long) for a 16-bit one.
 */
export function weightRows(
  t: CpuTensor<FloatDType>,
  cols: number,
  row0: number,
  count: number,
  scratch: Float32Array,
): Float32Array {
  const from = row0 * cols;
  const n = count * cols;
  if (t.dtype === 'f32') return (t.data as Float32Array).subarray(from, from + n);
  decodeInto(t.dtype as HalfDType, t.data as Uint16Array, from, n, scratch, 0);
  return scratch.subarray(0, n);
}
