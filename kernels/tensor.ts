/** Element types a tensor can hold. Token ids and indices are i32. */
export type DType = 'f32' | 'i32';

export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : Int32Array;
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

export function dtypeOf(data: AnyTypedArray): DType {
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
