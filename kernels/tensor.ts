import type { HalfDType } from './weight-dtype';

/**
 * Element types a tensor can hold. Token ids and indices are i32; f16 and bf16 are weights kept
 * as a checkpoint stored them (kernels/weight-dtype.ts), which only the kernels that read weights
 * accept (matmul's b, embedding's table); every activation and result is f32.
 */
export type DType = 'f32' | 'i32' | HalfDType;

/** Float element types a weight tensor may have. */
export type FloatDType = 'f32' | HalfDType;

/** What `read` returns: 16-bit tensors come back as their stored bits. */
export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : Uint16Array;
export type AnyTypedArray = Float32Array | Int32Array;

export type BackendKind = 'cpu' | 'webgpu';

/**
 * A dense, row-major tensor owned by one backend. The payload is opaque here:
 * the CPU backend keeps a TypedArray, the WebGPU backend a GPUBuffer.
 */
export interface Tensor<D extends DType = DType> {
  readonly shape: readonly number[];
  readonly dtype: D;
  /** Number of elements (product of shape). */
  readonly size: number;
  readonly backend: BackendKind;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`invalid tensor dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function dtypeOf(data: AnyTypedArray): 'f32' | 'i32' {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  throw new Error('unsupported typed array: expected Float32Array or Int32Array');
}

export function assertShape(t: Tensor, rank: number, what: string): void {
  if (t.shape.length !== rank) {
    throw new Error(`${what}: expected a rank-${rank} tensor, got shape [${t.shape.join(', ')}]`);
  }
}

export function assertDType(t: Tensor, dtype: DType, what: string): void {
  if (t.dtype !== dtype) throw new Error(`${what}: expected dtype ${dtype}, got ${t.dtype}`);
}
