import type { Backend } from './backend';
import type { AnyTypedArray, DType, Tensor } from './tensor';
import { sizeOf } from './tensor';
import { CpuTensor, cpu } from './cpu-tensor';
import { cpuKernels } from './registry';
import { isHalf, isHalfDType, type WeightArray } from './weight-dtype';
import { loadWasmKernels, type WasmKernelOptions, type WasmKernels } from './wasm/wasm-kernels';

export interface CpuBackendOptions {
  /**
   * WebAssembly kernels (`loadWasmKernels`) to run the hot ops (matmul) instead of the TypeScript
   * references; the backend then owns them (`destroy` stops their threads).
   */
  wasm?: WasmKernels | null;
}

/**
 * The CPU backend: plain TypedArray tensors. Without `wasm`, every kernel is the TypeScript
 * reference (deterministic, synchronous, the ground truth); with it, matmul, attention, the norms
 * and the silu / gelu_tanh activations run in WebAssembly SIMD (matmul and attention on its threads) and
 * every other op stays the reference.
 */
export function createCpuBackend(opts: CpuBackendOptions = {}): Backend {
  const wasm = opts.wasm ?? undefined;
  const backend = {
    kind: 'cpu',
    description: wasm ? `CPU (${wasm.description})` : 'CPU (JavaScript reference kernels)',
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
    weightTensor(data: WeightArray, shape: readonly number[], o?: { adopt?: boolean }) {
      const t = isHalf(data)
        ? new CpuTensor(o?.adopt ? data.bits : data.bits.slice(), shape, data.dtype)
        : new CpuTensor(o?.adopt ? data : data.slice(), shape);
      wasm?.markWeight(t);
      return t;
    },
    zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
      const n = sizeOf(shape);
      if (isHalfDType(dtype)) return new CpuTensor(new Uint16Array(n), shape, dtype);
      return new CpuTensor(dtype === 'f32' ? new Float32Array(n) : new Int32Array(n), shape);
    },
    read(t: Tensor) {
      return Promise.resolve(cpu(t).data.slice()) as never;
    },
    dispose(...ts: (Tensor | undefined)[]) {
      if (wasm) for (const t of ts) if (t) wasm.forget(t);
    },
    sync: () => Promise.resolve(),
    destroy() {
      wasm?.destroy();
    },
    ...cpuKernels(),
  } as Backend;
  if (wasm) {
    backend.matmul = (a, b, o) => wasm.matmul(a, b, o?.transposeB ?? false, o?.transposeA ?? false, o?.bias);
    backend.attention = (q, k, v, o) => wasm.attention(q, k, v, o);
    backend.activation = (x, kind) => wasm.activation(x, kind);
    backend.gatedActivation = (gate, up, kind) => wasm.activation(gate, kind, up);
    backend.rmsnorm = (x, weight, eps, o) => wasm.rmsnorm(x, weight, eps, o?.groupSize);
    backend.layernorm = (x, weight, bias, eps) => wasm.layernorm(x, weight, bias, eps);
    backend.softmax = (x) => wasm.softmax(x);
    backend.topk = (x, k) => wasm.topk(x, k);
  }
  return backend;
}

/**
 * The CPU backend with its WebAssembly kernels (threads: `opts.threads`, default the machine's
 * available parallelism); the TypeScript kernels alone where WebAssembly SIMD is missing.
 *
 * @example
 * const b = await createFastCpuBackend({ threads: 2 }); // CLI, runtime worker
 */
export async function createFastCpuBackend(opts: WasmKernelOptions = {}): Promise<Backend> {
  return createCpuBackend({ wasm: await loadWasmKernels(opts) });
}
