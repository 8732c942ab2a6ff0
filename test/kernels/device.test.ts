/**
 * The WebGPU plumbing itself: pipeline cache, buffer pool, validation error scopes and device
 * loss. Runs in headless Chromium; without an adapter these tests fail (createWebGpuBackend throws).
 */
import { describe, expect, it } from 'vitest';
import { DeviceLostError } from '../../kernels/backend';
import { BufferPool } from '../../kernels/buffer-pool';
import { createWebGpuBackend } from '../../kernels/webgpu-backend';
import { grid, MAX_WORKGROUPS } from '../../kernels/gpu-context';

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
});
