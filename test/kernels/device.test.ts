/**
 * The WebGPU plumbing itself: pipeline cache, buffer pool, validation error scopes and device
 * loss. Runs in headless Chromium; without an adapter these tests fail (createWebGpuBackend throws).
 */
import { describe, expect, it } from 'vitest';
import { DeviceLostError } from '../../kernels/backend';
import { BufferPool } from '../../kernels/buffer-pool';
import { acquireDevice } from '../../kernels/device';
import { GpuLimitError, GpuValidationError } from '../../kernels/gpu-errors';
import { createWebGpuBackend, WebGpuBackend } from '../../kernels/webgpu-backend';
import {
  GpuContext,
  grid,
  MAX_WORKGROUPS,
  writableBindings,
  type GpuLimits,
} from '../../kernels/gpu-context';
import addSource from '../../kernels/add.wgsl?raw';

/** A backend whose context enforces lower limits than the device (to reach them cheaply). */
async function limitedBackend(limits: Partial<GpuLimits>): Promise<WebGpuBackend> {
  const { device, adapterDescription } = await acquireDevice();
  return new WebGpuBackend(new GpuContext(device, { limits }), adapterDescription);
}

/** A dispatch whose bind group is invalid: the add shader wants 3 buffers + uniforms, gets 1. */
function badDispatch(b: WebGpuBackend, x: Parameters<WebGpuBackend['add']>[0]): void {
  b.ctx.dispatch({ key: 'add', code: () => addSource, tensors: [x], workgroups: [1] });
}

describe('webgpu device', () => {
  it('acquires a real adapter and describes it', async () => {
    const b = await createWebGpuBackend();
    expect(b.kind).toBe('webgpu');
    expect(b.description).toMatch(/^WebGPU \(/);
    b.destroy();
  });

  it('caches pipelines by op + shape key', async () => {
    const b = await createWebGpuBackend();
    const x = b.tensor(new Float32Array(10), [10]);
    b.dispose(b.add(x, x));
    const after1 = b.ctx.pipelineCount;
    b.dispose(b.add(x, x), b.add(x, x));
    expect(b.ctx.pipelineCount).toBe(after1);
    b.dispose(x);
    b.destroy();
  });

  it('reuses pooled buffers and tracks live ones', async () => {
    const b = await createWebGpuBackend();
    const x = b.tensor(new Float32Array(100), [100]);
    const y = b.add(x, x);
    expect(b.ctx.pool.liveBuffers).toBe(2);
    const buf = (y as unknown as { buffer: GPUBuffer }).buffer;
    b.dispose(y);
    const z = b.add(x, x);
    expect((z as unknown as { buffer: GPUBuffer }).buffer).toBe(buf);
    b.dispose(x, z);
    expect(b.ctx.pool.liveBuffers).toBe(0);
    expect(() => b.add(x, x)).toThrow(/after dispose/);
    b.destroy();
  });

  it('rounds buffer sizes to power-of-two classes', () => {
    expect(BufferPool.sizeClass(1)).toBe(256);
    expect(BufferPool.sizeClass(257)).toBe(512);
    expect(BufferPool.sizeClass(4096)).toBe(4096);
  });

  it('splits large dispatches over two grid dimensions', () => {
    expect(grid(10)).toEqual([10, 1]);
    const [x, y] = grid(MAX_WORKGROUPS * 3 + 1);
    expect(x).toBeLessThanOrEqual(MAX_WORKGROUPS);
    expect(x * y).toBeGreaterThanOrEqual(MAX_WORKGROUPS * 3 + 1);
  });

  it('reports validation errors through error scopes', async () => {
    const b = await createWebGpuBackend();
    await expect(
      b.ctx.checked(() => {
        // A buffer whose size is not a multiple of 4 with MAP_READ|STORAGE is invalid usage.
        b.ctx.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
      }),
    ).rejects.toThrow(/validation/);
    // A correct op inside a scope passes.
    const x = b.tensor(new Float32Array([1, 2]), [2]);
    const y = await b.ctx.checked(() => b.add(x, x));
    expect(Array.from(await b.read(y))).toEqual([2, 4]);
    b.dispose(x, y);
    b.destroy();
  });

  it('surfaces device loss as a DeviceLostError and recovers with a new backend', async () => {
    const b = await createWebGpuBackend();
    const x = b.tensor(new Float32Array([1, 2, 3]), [3]);
    b.ctx.device.destroy();
    await b.ctx.device.lost;
    expect(() => b.add(x, x)).toThrow(DeviceLostError);
    await expect(b.sync()).rejects.toBeInstanceOf(DeviceLostError);
    // Recovery: a fresh backend works and the data can be uploaded again.
    const b2 = await createWebGpuBackend();
    const x2 = b2.tensor(new Float32Array([1, 2, 3]), [3]);
    const y2 = b2.add(x2, x2);
    expect(Array.from(await b2.read(y2))).toEqual([2, 4, 6]);
    b2.dispose(x2, y2);
    b2.destroy();
  });

  it('asks the adapter for its largest buffer and binding sizes', async () => {
    const b = await createWebGpuBackend();
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    expect(b.ctx.limits.maxBufferSize).toBe(adapter!.limits.maxBufferSize);
    expect(b.ctx.limits.maxStorageBufferBindingSize).toBe(adapter!.limits.maxStorageBufferBindingSize);
    expect(typeof b.ctx.device.onuncapturederror).toBe('function');
    b.destroy();
  });

  it('refuses a tensor over maxBufferSize before allocating anything', async () => {
    const b = await createWebGpuBackend();
    const max = b.ctx.limits.maxBufferSize;
    const n = Math.floor(max / 4) + 1;
    const live = b.ctx.pool.liveBuffers;
    const err = (() => {
      try {
        b.zeros([n]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GpuLimitError);
    expect(err).toBeInstanceOf(RangeError);
    expect(err).toMatchObject({ limit: 'maxBufferSize', requested: n * 4, allowed: max });
    expect((err as Error).message).toContain(`needs ${n * 4} bytes`);
    expect((err as Error).message).toContain(`maxBufferSize of ${max} bytes`);
    expect(() => b.ctx.createTensor([2, n], 'i32')).toThrow(GpuLimitError);
    expect(b.ctx.pool.liveBuffers).toBe(live);
    // Nothing was created, so nothing failed: the backend goes on as before.
    const x = b.tensor(new Float32Array([1, 2]), [2]);
    const y = b.add(x, x);
    expect(Array.from(await b.read(y))).toEqual([2, 4]);
    await b.sync();
    b.dispose(x, y);
    b.destroy();
  });

  it('checks buffer and binding sizes against (lowered) limits; pool classes stay within them', async () => {
    const limits = { maxBufferSize: 65536, maxStorageBufferBindingSize: 16384 };
    expect(BufferPool.sizeClass(12000, limits)).toBe(16384);
    expect(BufferPool.sizeClass(20000, limits)).toBe(32768);
    expect(BufferPool.sizeClass(40000, { maxBufferSize: 50000, maxStorageBufferBindingSize: 16384 })).toBe(
      50000,
    );
    expect(BufferPool.sizeClass(9000, { maxBufferSize: 50000, maxStorageBufferBindingSize: 10000 })).toBe(
      10000,
    );
    const b = await limitedBackend(limits);
    expect(b.ctx.limits).toMatchObject(limits);
    expect(() => b.tensor(new Float32Array(20000), [20000])).toThrow(/maxBufferSize of 65536 bytes/);
    // 5000 floats fit a buffer but not one binding: the op is refused before anything is encoded.
    const big = b.tensor(new Float32Array(5000).fill(1), [5000]);
    expect(() => b.add(big, big)).toThrow(GpuLimitError);
    expect(() => b.add(big, big)).toThrow(
      /add: binding 0, a f32 tensor of shape \[5000\], needs 20000 bytes .*maxStorageBufferBindingSize of 16384 bytes/,
    );
    const small = b.tensor(
      Float32Array.from({ length: 4000 }, (_, i) => i),
      [4000],
    );
    const sum = b.add(small, small);
    const got = await b.read(sum);
    expect(got[3999]).toBe(7998);
    await b.sync();
    b.dispose(big, small, sum);
    b.destroy();
  });

  it('finds the bindings a shader writes', () => {
    expect(writableBindings(addSource)).toEqual(new Set([2]));
    const named = 'const B_OUT: u32 = 4u;\n@group(0) @binding(B_OUT) var<storage, read_write> o: array<f32>;';
    expect(writableBindings(named)).toEqual(new Set([4]));
    expect(writableBindings('@group(0) @binding(N) var<storage, read_write> o: array<f32>;')).toBeUndefined();
  });

  it('a validation error in a batch makes the read reject instead of returning zeros', async () => {
    const b = await createWebGpuBackend();
    const x = b.tensor(new Float32Array([1, 2, 3]), [3]);
    badDispatch(b, x);
    const y = b.add(x, x); // valid, but submitted in the same (failed) command buffer
    const err = await b.read(y).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuValidationError);
    expect(err).toMatchObject({ filter: 'validation' });
    expect((err as Error).message).toMatch(/^WebGPU validation error: /);
    // The tensor the failed batch should have written never reads back as numbers.
    await expect(b.read(y)).rejects.toThrow(/computed by the GPU work that failed/);
    // The backend stays usable for new work.
    const z = b.add(x, x);
    expect(Array.from(await b.read(z))).toEqual([2, 4, 6]);
    await b.sync();
    b.dispose(x, y, z);
    expect(b.ctx.pool.liveBuffers).toBe(0);
    b.destroy();
  });

  it('sync() rejects after a failed batch, once, and the next work succeeds', async () => {
    const b = await createWebGpuBackend();
    const x = b.tensor(new Float32Array([1, 2]), [2]);
    badDispatch(b, x);
    await expect(b.sync()).rejects.toBeInstanceOf(GpuValidationError);
    await b.sync();
    // An invalid buffer made directly on the device is caught the same way.
    b.ctx.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    const y = b.add(x, x);
    await expect(b.read(y)).rejects.toBeInstanceOf(GpuValidationError);
    const z = b.add(x, x);
    expect(Array.from(await b.read(z))).toEqual([2, 4]);
    b.dispose(x, y, z);
    b.destroy();
  });

  it('reads issued before an error is reported all reject', async () => {
    const b = await createWebGpuBackend();
    const x = b.tensor(new Float32Array([1, 2]), [2]);
    badDispatch(b, x);
    const y = b.add(x, x);
    const first = b.read(y);
    const z = b.add(y, x);
    const second = b.read(z);
    await expect(first).rejects.toBeInstanceOf(GpuValidationError);
    await expect(second).rejects.toBeInstanceOf(GpuValidationError);
    b.dispose(x, y, z);
    b.destroy();
  });
});
