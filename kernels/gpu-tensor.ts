import type { DType, Tensor } from './tensor';
import { sizeOf } from './tensor';

/** A tensor of the WebGPU backend: a (pooled) storage buffer, possibly larger than its data. */
export class GpuTensor<D extends DType = DType> implements Tensor<D> {
  readonly backend = 'webgpu' as const;
  readonly size: number;
  disposed = false;
  /**
   * The GpuContext batch (error-scope epoch) that last wrote this tensor: if that batch had a
   * WebGPU error, reading the tensor rejects instead of returning what the failed batch left.
   */
  writtenEpoch = 0;
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: D,
  ) {
    this.size = sizeOf(shape);
  }
}

export function gpu<D extends DType>(t: Tensor<D>): GpuTensor<D> {
  if (!(t instanceof GpuTensor))
    throw new Error(`expected a webgpu tensor, got one from the ${t.backend} backend`);
  if (t.disposed) throw new Error(`tensor [${t.shape.join(', ')}] was used after dispose()`);
  return t as GpuTensor<D>;
}
