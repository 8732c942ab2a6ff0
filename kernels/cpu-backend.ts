import type { Backend } from './backend';
import type { AnyTypedArray, DType, Tensor } from './tensor';
import { sizeOf } from './tensor';
import { CpuTensor, cpu } from './cpu-tensor';
import { cpuKernels } from './registry';
import { isHalf, isHalfDType, type WeightArray } from './weight-dtype';

/** The CPU backend: plain TypedArray references. Deterministic, synchronous, the ground truth. */
export function createCpuBackend(): Backend {
  return {
    kind: 'cpu',
    description: 'CPU (JavaScript reference kernels)',
    weightPrecision: { storage: 'as stored', shaderF16: false },
    maxTensorBytes: Infinity,
    tensor(data: AnyTypedArray, shape: readonly number[]) {
      return new CpuTensor(data.slice(), shape);
    },
    // The array becomes the tensor: the caller handed it over (no copy, no second allocation).
    adoptTensor(data: AnyTypedArray, shape: readonly number[]) {
      return new CpuTensor(data, shape);
    },
    // 16-bit weights keep their bits (adopted: the array itself, else a copy); decoded in the kernels.
    weightTensor(data: WeightArray, shape: readonly number[], opts?: { adopt?: boolean }) {
      if (!isHalf(data)) return new CpuTensor(opts?.adopt ? data : data.slice(), shape);
      return new CpuTensor(opts?.adopt ? data.bits : data.bits.slice(), shape, data.dtype);
    },
    zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
      const n = sizeOf(shape);
      if (isHalfDType(dtype)) return new CpuTensor(new Uint16Array(n), shape, dtype);
      return new CpuTensor(dtype === 'f32' ? new Float32Array(n) : new Int32Array(n), shape);
    },
    read(t) {
      return Promise.resolve(cpu(t).data.slice()) as never;
    },
    dispose() {},
    sync: () => Promise.resolve(),
    destroy() {},
    ...cpuKernels(),
  } as Backend;
}
