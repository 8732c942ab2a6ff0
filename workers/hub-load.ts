/**
 * The runtime worker's side of loading a model from the Hugging Face hub: the request and progress
 * types that cross the worker boundary, and `loadFromHub`, which runs `loadHubModel` with what the
 * worker knows: the backend's limits (WebGPU: `maxBufferSize`, `maxStorageBufferBindingSize`, the
 * buffer pool's size classes), a memory budget, and the browser's OPFS cache when there is one.
 *
 * The access token travels in the request (a structured clone between two threads of the same
 * page), is sent to the hub as an `Authorization` header, and is never kept, returned or put into a
 * message.
 */
import type { Backend } from '../kernels/backend';
import type { WebGpuBackend } from '../kernels/webgpu-backend';
import { parseHubId } from '../runtime/sources/hub-id';
import {
  loadHubModel,
  type HubLoaded,
  type HubLoadedFile,
  type HubLoadProgress,
  type HubMemoryLimits,
} from '../runtime/sources/hub-model';
import { hasOpfs, opfsHubCache } from '../runtime/sources/opfs-hub-cache';
import type { LoadedModel } from './runtime-types';

export type { HubLoadProgress, HubLoadedFile };

/** Load `hf:ORG/NAME[@REV]` (or `ORG/NAME[@REV]`) from a hub. */
export interface HubLoadRequest {
  /** Name the worker keeps the model under (see `LoadRequest.key`). */
  key?: string;
  /** `hf:ORG/NAME[@REV]`; the `hf:` may be left out. */
  id: string;
  /** The hub; default https://huggingface.co. */
  endpoint?: string;
  /** Access token for gated repositories: a request header only, never stored or returned. */
  token?: string;
  /** Bytes the weights may take on the backend (default: half of the device's memory). */
  budgetBytes?: number;
  /** Keep the files in the browser's cache and read them from it (default true where possible). */
  cache?: boolean;
}

/** What a hub load returns: a loaded model plus where its files came from. */
export interface HubLoadedModel extends LoadedModel {
  hub: {
    /** `hf:ORG/NAME[@REV]`. */
    id: string;
    repo: string;
    revision: string;
    files: HubLoadedFile[];
    notes: string[];
    weightBytes: number;
    downloadedBytes: number;
  };
}

/** `ORG/NAME[@REV]` or `hf:ORG/NAME[@REV]` as a hub id. */
export function normalizeHubId(id: string): string {
  const s = id.trim();
  return s.startsWith('hf:') ? s : `hf:${s}`;
}

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
    limits.allocated = (bytes) => ctx.pool.sizeClassOf(bytes);
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
  o: { signal: AbortSignal; onProgress?: (p: HubLoadProgress) => void },
): Promise<HubLoaded> {
  const id = parseHubId(normalizeHubId(request.id));
  const cache = request.cache !== false && hasOpfs() ? opfsHubCache() : null;
  return loadHubModel(backend, id, {
    ...(request.endpoint ? { endpoint: request.endpoint } : {}),
    ...(request.token ? { token: request.token } : {}),
    signal: o.signal,
    cache,
    memory: memoryOf(backend, request),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
}
