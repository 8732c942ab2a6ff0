/**
 * The kernels' public surface. The registry of every op with its CPU reference and WebGPU
 * dispatcher is `OPS` (registry.ts), from which both backends are built.
 */
export { OPS, OP_NAMES, type OpName, type KernelMethods } from './registry';

export type {
  Backend,
  ActivationKind,
  RopeOptions,
  RopeScaling,
  AdamUpdateOptions,
  AdamUpdateResult,
  RowAffineOptions,
  SaeBackwardOptions,
  SaeBackwardResult,
  SaeDecoderGradOptions,
  SaeEncodeOptions,
  SaeEncodeResult,
  SaeReconStatsOptions,
  SaeReconStatsResult,
  AttentionOptions,
  AttentionResult,
  MoeRouteOptions,
  MoeRouteResult,
  PatternProbeOptions,
  PatternProbeResult,
  TopKResult,
} from './backend';
export { DeviceLostError, WebGpuUnavailableError } from './backend';
export { GpuLimitError, GpuValidationError, type GpuErrorFilter } from './gpu-errors';
export type { Tensor, DType, BackendKind } from './tensor';
export { createCpuBackend, createFastCpuBackend, type CpuBackendOptions } from './cpu-backend';
export { loadWasmKernels, WasmKernels, type WasmKernelOptions } from './wasm/wasm-kernels';
export { createWebGpuBackend, WebGpuBackend } from './webgpu-backend';
