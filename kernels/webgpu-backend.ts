import type { Backend, WeightPrecision } from './backend';
import type { AnyTypedArray, DType, FloatDType, Tensor, TypedArrayFor } from './tensor';
import { isHalf, type WeightArray } from './weight-dtype';
import { dtypeOf, sizeOf } from './tensor';
import { acquireDevice } from './device';
import { GpuContext } from './gpu-context';
import { installGpuKernels, type KernelMethods } from './registry';

/** The WebGPU backend. `ctx` is exposed for tests (error scopes, leak counts) and benchmarks. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WebGpuBackend implements Backend {
  readonly kind = 'webgpu' as const;

  constructor(
    readonly ctx: GpuContext,
    readonly description: string,
  ) {}

  tensor(data: Float32Array, shape: readonly number[]): Tensor<'f32'>;
  tensor(data: Int32Array, shape: readonly number[]): Tensor<'i32'>;
  tensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[]): Tensor<D>;
  tensor(data: AnyTypedArray, shape: readonly number[]): Tensor;
  tensor(data: AnyTypedArray, shape: readonly number[]): Tensor {
    const n = sizeOf(shape);
    if (data.length !== n) {
      throw new Error(`tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
    }
    return this.ctx.upload(data, shape, dtypeOf(data));
  }

  adoptTensor(data: Float32Array, shape: readonly number[]): Tensor<'f32'>;
  adoptTensor(data: Int32Array, shape: readonly number[]): Tensor<'i32'>;
  adoptTensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[]): Tensor<D>;
  adoptTensor(data: AnyTypedArray, shape: readonly number[]): Tensor;
  /** Uploads like `tensor` (queue.writeBuffer copies now); the caller drops its host array. */
  adoptTensor(data: AnyTypedArray, shape: readonly number[]): Tensor {
    return this.tensor(data, shape);
  }

  /**
   * A weight in a buffer of its own size (not a pooled size class), a 16-bit one as its bits (two
   * to a word); `adopt` changes nothing here.
   */
  weightTensor(data: WeightArray, shape: readonly number[]): Tensor<FloatDType> {
    const n = sizeOf(shape);
    const length = isHalf(data) ? data.bits.length : data.length;
    if (length !== n) {
      throw new Error(`tensor data has ${length} elements but shape [${shape.join(', ')}] needs ${n}`);
    }
    if (!isHalf(data)) return this.ctx.upload(data, shape, 'f32', true);
    return this.ctx.uploadHalf(data.bits, shape, data.dtype);
  }

  /** The largest binding: a kernel reads a tensor through one. */
  get maxTensorBytes(): number {
    const { maxStorageBufferBindingSize, maxBufferSize } = this.ctx.limits;
    return Math.min(maxStorageBufferBindingSize, maxBufferSize);
  }

  /** Weights as stored; whether the device has shader-f16 (requested when the adapter offers it). */
  get weightPrecision(): WeightPrecision {
    return { storage: 'as stored', shaderF16: this.ctx.device.features.has('shader-f16') };
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    return this.ctx.zeros(shape, dtype);
  }

  read<D extends DType>(t: Tensor<D>): Promise<TypedArrayFor<D>> {
    return this.ctx.read(t);
  }

  dispose(...ts: (Tensor | undefined)[]): void {
    for (const t of ts) if (t) this.ctx.release(t);
  }

  sync(): Promise<void> {
    return this.ctx.sync();
  }

  destroy(): void {
    this.ctx.destroy();
  }
}

// The kernel methods come from the registry (registry.ts), one dispatcher per op.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface WebGpuBackend extends KernelMethods {}
installGpuKernels(WebGpuBackend.prototype);

/**
 * Create the WebGPU backend (page, worker, or Node with the `webgpu` package's `gpu`). Throws
 * WebGpuUnavailableError when no adapter exists; never falls back to the CPU.
 */
export async function createWebGpuBackend(gpu?: GPU): Promise<WebGpuBackend> {
  const { device, adapterDescription } = await acquireDevice(gpu);
  return new WebGpuBackend(new GpuContext(device), adapterDescription);
}
