import { WebGpuUnavailableError } from '../kernels/backend';

/**
 * The `gpu` object of Dawn for Node (the `webgpu` package), with WebGPU's globals (GPUBufferUsage…)
 * installed. Fails with a clear message when no adapter exists; never falls back to the CPU.
 * The returned object owns Dawn's native instance: it must outlive every device made from it
 * (acquireDevice keeps it alive for its device's lifetime; hold it yourself if you call
 * requestAdapter/requestDevice directly).
 */
export async function nodeGpu(): Promise<GPU> {
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new WebGpuUnavailableError(`the 'webgpu' package could not be loaded: ${(e as Error).message}`);
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'no WebGPU adapter: Dawn found no Vulkan driver. Install a GPU driver, or Debian’s chromium package ' +
        '(its SwiftShader ICD at /usr/lib/chromium/vk_swiftshader_icd.json is used automatically), ' +
        'or set VK_ICD_FILENAMES yourself.',
    );
  }
  return gpu;
}
