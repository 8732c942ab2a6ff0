import { WebGpuUnavailableError } from './backend';

/**
 * What each device came from, kept alive exactly as long as the device (WeakMap values live while
 * their key does). In Node the `gpu` object from the `webgpu` package owns Dawn's native instance:
 * once it is garbage-collected the instance is torn down under the still-live device and the process
 * dies natively (futex errors, std::system_error, segfaults). Browsers keep navigator.gpu alive anyway.
 */
const origins = new WeakMap<GPUDevice, { gpu: GPU; adapter: GPUAdapter }>();

export interface AcquiredDevice {
  device: GPUDevice;
  adapterDescription: string;
}

/**
 * Acquire a WebGPU device: works on a page, in a worker (navigator.gpu exists in both) and in Node
 * (pass the `gpu` object from the `webgpu` package). Asks for the adapter's full storage limits so
 * 512-token attention maps fit. Fails loudly: there is no silent CPU fallback.
 */
export async function acquireDevice(gpu?: GPU): Promise<AcquiredDevice> {
  const g = gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!g) {
    throw new WebGpuUnavailableError(
      'WebGPU is not available here (navigator.gpu is missing). In Chromium start with --enable-unsafe-webgpu; in Node install the `webgpu` package.',
    );
  }
  const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebGpuUnavailableError('WebGPU: requestAdapter() returned no adapter.');
  const l = adapter.limits;
  // shader-f16 costs nothing to enable; the backend reports whether the device has it.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('shader-f16') ? ['shader-f16'] : [];
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  origins.set(device, { gpu: g, adapter });
  const info = adapter.info;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => !!s);
  return { device, adapterDescription: `WebGPU (${parts.join(' / ') || 'unknown adapter'})` };
}

const emulated = new WeakMap<GPUDevice, boolean>();

/**
 * Whether the adapter is a CPU emulation (SwiftShader, llvmpipe/lavapipe, WARP). There every
 * workgroup barrier is a coroutine switch per SIMD group, so kernels built on shared memory (the
 * tiled matmuls, flash attention), the right ones on real GPUs, run several times slower than the
 * barrier-free ones; the kernel rules pick by it and the autotune skips such adapters.
 */
export function isCpuEmulated(device: GPUDevice): boolean {
  let e = emulated.get(device);
  if (e === undefined) {
    const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const name = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.device ?? ''} ${info?.description ?? ''}`;
    e = info?.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|\bwarp\b/i.test(name);
    emulated.set(device, e);
  }
  return e;
}
