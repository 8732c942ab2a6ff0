/**
 * Shared harness for kernel tests: the same cases run on both backends, in headless Chromium.
 * A missing WebGPU adapter FAILS the webgpu suite (createWebGpuBackend throws); nothing is skipped.
 *
 * Correctness comes from references written in the tests (plain loops, hand-checked values,
 * analyses/ code that does not go through kernels/), run on both backends. Cases that compare a
 * backend with the CPU kernels (`itVsCpu`) exist only in the webgpu suite: in the cpu suite they
 * would compare the CPU kernel with itself and could not fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { createWebGpuBackend, type WebGpuBackend } from '../../kernels/webgpu-backend';

export const TOL_ELEMENTWISE = 1e-4;
export const TOL_REDUCTION = 1e-3;

export interface BackendCase {
  /** The backend under test. */
  b: () => Backend;
  /** Which backend the suite tests. */
  kind: 'cpu' | 'webgpu';
  /**
   * A case comparing the backend under test with the CPU kernels (`ref`), registered in the
   * webgpu suite only. Pair it with a test-written reference that runs on both backends.
   */
  itVsCpu: (name: string, fn: (ref: Backend) => Promise<void>, timeout?: number) => void;
  /** Run fn inside WebGPU validation/OOM error scopes (a no-op scope on the CPU). */
  checked: <T>(fn: () => T | Promise<T>) => Promise<T>;
}

/** Define the suite `name` once per backend: `describe('name [cpu]')` and `describe('name [webgpu]')`. */
export function describeBackends(name: string, body: (c: BackendCase) => void): void {
  for (const kind of ['cpu', 'webgpu'] as const) {
    describe(`${name} [${kind}]`, () => {
      let backend: Backend;
      const ref = createCpuBackend();
      beforeAll(async () => {
        backend = kind === 'cpu' ? ref : await createWebGpuBackend();
      });
      afterAll(() => {
        if (kind === 'webgpu') {
          const live = (backend as WebGpuBackend).ctx.pool.liveBuffers;
          backend.destroy();
          // Every op disposes its intermediates; cases must dispose what they create.
          expect(live, 'GPU buffers still live after the suite (leak)').toBe(0);
        }
      });
      body({
        b: () => backend,
        kind,
        itVsCpu: (name, fn, timeout) => {
          if (kind === 'webgpu') it(`${name} (vs the CPU kernels)`, () => fn(ref), timeout);
        },
        checked: (fn) =>
          kind === 'webgpu' ? (backend as WebGpuBackend).ctx.checked(fn) : Promise.resolve(fn()),
      });
    });
  }
}

/**
 * A WebGPU backend for the enclosing suite: created before its tests, destroyed after them, and
 * the suite FAILS if any GPU buffer is still live then (every case disposes what it creates).
 */
export function webGpuSuite(): () => WebGpuBackend {
  let gpu: WebGpuBackend;
  beforeAll(async () => {
    gpu = await createWebGpuBackend();
  });
  afterAll(() => {
    const live = gpu.ctx.pool.liveBuffers;
    gpu.destroy();
    expect(live, 'GPU buffers still live after the suite (leak)').toBe(0);
  });
  return () => gpu;
}

/** Seeded uniform [lo, hi) and normal generators (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(seed: number, n: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()) * scale;
  }
  return out;
}

export function randInt(seed: number, n: number, hi: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * hi));
}

/** Max |a − b| with the index where it occurs; throws on length mismatch or NaN. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; at: number } {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let diff = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) {
      diff = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  }
  return { diff, at };
}

/** Assert elementwise closeness with an absolute tolerance, reporting the worst element. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what = '',
): void {
  const { diff, at } = maxAbsDiff(actual, expected);
  expect(
    diff,
    `${what} max |diff| ${diff} at ${at} (actual ${actual[at]}, expected ${expected[at]}) exceeds ${tol}`,
  ).toBeLessThanOrEqual(tol);
}

/**
 * A WebGPU backend for webgpu-only cases (e.g. every kernel variant forced in turn), created before
 * the suite and checked for leaked buffers after it. Call at the top of a describe block.
 */
export function useWebGpu(): () => WebGpuBackend {
  let g: WebGpuBackend | undefined;
  beforeAll(async () => {
    g = await createWebGpuBackend();
  });
  afterAll(() => {
    if (!g) return;
    const live = g.ctx.pool.liveBuffers;
    g.destroy();
    expect(live, 'GPU buffers still live after the suite (leak)').toBe(0);
  });
  return () => {
    if (!g) throw new Error('useWebGpu: the backend is created in beforeAll; use it inside tests');
    return g;
  };
}

/**
 * Every thread layout of the row-reduction kernels (rmsnorm, softmax): workgroup size and threads
 * per row, forced in turn, with row shapes that straddle each layout's boundaries.
 */
export const ROW_REDUCTION_LAYOUTS = [
  { wg: 64, lanes: 1 },
  { wg: 64, lanes: 8 },
  { wg: 64, lanes: 64 },
  { wg: 256, lanes: 256 },
  { wg: 32, lanes: 4 },
] as const;

export const ROW_REDUCTION_SHAPES = [
  [1, 1],
  [7, 173],
  [65, 3],
  [100, 300],
  [2, 5000],
] as const;
