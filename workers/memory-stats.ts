/**
 * Read-only memory counters of a runtime worker: what it keeps (models, kept SAEs and pruning
 * sweeps, running jobs) and, on WebGPU, the buffer pool's live and idle buffers. The soak test
 * (test/e2e/soak.test.ts, `npm run soak`) reads them after every round to find leaks; in the
 * browser's devtools, `sparsebookMemory()` in the runtime worker's console returns the same object.
 */
import type { Backend } from '../kernels/backend';
import type { WebGpuBackend } from '../kernels/webgpu-backend';

export interface GpuMemoryStats {
  /** Buffers handed out by the pool and not yet released (tensors alive). */
  liveBuffers: number;
  /** Their bytes (size classes). */
  liveBytes: number;
  /** Released buffers the pool keeps for reuse. */
  idleBuffers: number;
  idleBytes: number;
  /** Cached compute pipelines. */
  pipelines: number;
}

export interface RuntimeMemoryStats {
  backend: 'cpu' | 'webgpu' | null;
  models: number;
  saes: number;
  pruningSweeps: number;
  jobs: number;
  /** On WebGPU only. */
  gpu: GpuMemoryStats | null;
}

/** The counters of `backend` (undefined before init) and the worker's stores. */
export function runtimeMemoryStats(
  backend: Backend | undefined,
  counts: { models: number; saes: number; pruningSweeps: number; jobs: number },
): RuntimeMemoryStats {
  let gpu: GpuMemoryStats | null = null;
  if (backend?.kind === 'webgpu' && 'ctx' in backend) {
    const { pool, pipelineCount } = (backend as WebGpuBackend).ctx;
    gpu = {
      liveBuffers: pool.liveBuffers,
      liveBytes: pool.liveBytes,
      idleBuffers: pool.idleBuffers,
      idleBytes: pool.idleBytes,
      pipelines: pipelineCount,
    };
  }
  return { backend: backend?.kind ?? null, ...counts, gpu };
}
