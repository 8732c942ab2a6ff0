import type { AnyTypedArray, DType, Tensor, TypedArrayFor } from './tensor';
import { dtypeOf, sizeOf } from './tensor';

/** A tensor of the CPU backend: a row-major TypedArray. */
export class CpuTensor<D extends DType = DType> implements Tensor<D> {
  readonly backend = 'cpu' as const;
  readonly size: number;
  readonly dtype: D;
  constructor(
    readonly data: TypedArrayFor<D>,
    readonly shape: readonly number[],
  ) {
    this.size = sizeOf(shape);
    this.dtype = dtypeOf(data as AnyTypedArray) as D;
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
