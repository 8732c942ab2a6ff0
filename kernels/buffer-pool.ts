/**
 * Reuses storage buffers by size class. Sizes round up to a power of two (min 256 bytes) so that
 * activations of slightly different lengths share buffers. Reuse is safe without waiting: WebGPU
 * executes passes in submission order, so a later write to a recycled buffer lands after every
 * earlier read of it.
 *
 * Rounding never takes a buffer over the device's limits: a request that fits
 * `maxStorageBufferBindingSize` gets a class no larger than it (so the whole buffer can be bound),
 * and one that fits `maxBufferSize` a class no larger than that. Checking the request itself against
 * the limits is the caller's job (GpuContext throws GpuLimitError first).
 */
export interface PoolLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private live = 0;
  private liveByteCount = 0;
  private pooledBytes = 0;
  /** Buffers from `acquireExact`: destroyed, not pooled, when released. */
  private exact = new WeakSet<GPUBuffer>();

  constructor(
    private device: GPUDevice,
    private limits?: PoolLimits,
  ) {}

  static sizeClass(bytes: number, limits?: PoolLimits): number {
    const pow2 = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
    if (!limits) return pow2;
    const floor4 = (n: number) => Math.floor(n / 4) * 4;
    const bind = floor4(limits.maxStorageBufferBindingSize);
    const cap = bytes <= bind ? bind : floor4(limits.maxBufferSize);
    return bytes <= cap ? Math.min(pow2, cap) : pow2;
  }

  /** The size class `bytes` is served from on this pool. */
  sizeClassOf(bytes: number): number {
    return BufferPool.sizeClass(bytes, this.limits);
  }

  /**
   * A buffer of exactly `bytes` (rounded up to 4) for a long-lived weight: not rounded up to a size
   * class (which could nearly double a weight's memory) and never pooled: destroyed on release.
   */
  acquireExact(bytes: number): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    this.live++;
    this.liveByteCount += size;
    const buffer = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.exact.add(buffer);
    return buffer;
  }

  acquire(bytes: number): GPUBuffer {
    const size = this.sizeClassOf(bytes);
    const list = this.free.get(size);
    const reused = list?.pop();
    this.live++;
    this.liveByteCount += size;
    if (reused) {
      this.pooledBytes -= size;
      return reused;
    }
    return this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /** Give back a buffer that must not be reused (created in a batch that had a GPU error). */
  discard(buffer: GPUBuffer): void {
    this.live--;
    this.liveByteCount -= buffer.size;
    buffer.destroy();
  }

  release(buffer: GPUBuffer): void {
    if (this.exact.has(buffer)) {
      this.discard(buffer);
      return;
    }
    this.live--;
    this.liveByteCount -= buffer.size;
    const list = this.free.get(buffer.size) ?? [];
    list.push(buffer);
    this.free.set(buffer.size, list);
    this.pooledBytes += buffer.size;
  }

  /** Buffers handed out and not yet released; tests use it to find leaks. */
  get liveBuffers(): number {
    return this.live;
  }

  /** Bytes of the buffers handed out and not yet released (their size classes). */
  get liveBytes(): number {
    return this.liveByteCount;
  }

  get idleBytes(): number {
    return this.pooledBytes;
  }

  /** Released buffers kept for reuse. */
  get idleBuffers(): number {
    let n = 0;
    for (const list of this.free.values()) n += list.length;
    return n;
  }

  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
