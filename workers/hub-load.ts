/**
 * The runtime worker's side of loading a model from the Hugging Face hub (the request and progress
 * types are in hub-types.ts): `loadFromHub` runs `loadHubModel` with what the
 * worker knows: the backend's limits (WebGPU: `maxBufferSize`, `maxStorageBufferBindingSize`;
 * weights get buffers of their own size, not pooled size classes), a memory budget, and the worker's hub cache (the browser's OPFS, or
 * the CLI's folder in a headless run).
 *
 * The access token travels in the request (a structured clone between two threads of the same
 * page), is sent to the hub as an `Authorization` header, and is never kept, returned or put into a
 * message.
 */
import type { Backend } from '../kernels/backend';
import type { WebGpuBackend } from '../kernels/webgpu-backend';
import { parseHubId } from '../runtime/sources/hub-id';
import { loadHubModel, type HubLoaded, type HubMemoryLimits } from '../runtime/sources/hub-model';
import type { HubCache } from '../runtime/sources/hub-cache';
import { normalizeHubId, type HubLoadProgress, type HubLoadRequest } from './hub-types';

/** The budget when the request names none: half of navigator.deviceMemory (8 GB assumed when unknown). */
export function defaultBudget(): { bytes: number; source: string } {
  const gb = (globalThis.navigator as (Navigator & { deviceMemory?: number }) | undefined)?.deviceMemory;
  if (typeof gb === 'number' && gb > 0) {
    return {
      bytes: (gb / 2) * 2 ** 30,
      source: `half of this device's ${gb} GB of memory (navigator.deviceMemory)`,
    };
  }
  return {
    bytes: 4 * 2 ** 30,
    source: "half of an assumed 8 GB of memory (this browser does not tell the device's)",
  };
}

/** The memory limits of `backend` for the plan made before downloading. */
function memoryOf(backend: Backend, request: HubLoadRequest): HubMemoryLimits {
  const budget =
    request.budgetBytes !== undefined
      ? { bytes: request.budgetBytes, source: 'the budget this load was given' }
      : defaultBudget();
  const limits: HubMemoryLimits = { budgetBytes: budget.bytes, budgetSource: budget.source };
  if (backend.kind === 'webgpu' && 'ctx' in backend) {
    const { ctx } = backend as WebGpuBackend;
    limits.maxBufferSize = ctx.limits.maxBufferSize;
    limits.maxStorageBufferBindingSize = ctx.limits.maxStorageBufferBindingSize;
  }
  return limits;
}

/**
 * Load a hub model onto `backend` (runtime/sources/hub-model.ts) with this worker's limits and cache.
 *
 * @throws as `loadHubModel`.
 */
export function loadFromHub(
  backend: Backend,
  request: HubLoadRequest,
  o: { signal: AbortSignal; cache: HubCache | null; onProgress?: (p: HubLoadProgress) => void },
): Promise<HubLoaded> {
  const id = parseHubId(normalizeHubId(request.id));
  return loadHubModel(backend, id, {
    ...(request.endpoint ? { endpoint: request.endpoint } : {}),
    ...(request.token ? { token: request.token } : {}),
    signal: o.signal,
    cache: o.cache,
    memory: memoryOf(backend, request),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
}
