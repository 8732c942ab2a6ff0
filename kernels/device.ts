import { WebGpuUnavailableError } from './backend';

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
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  const info = adapter.info;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => !!s);
  return { device, adapterDescription: `WebGPU (${parts.join(' / ') || 'unknown adapter'})` };
}
