/**
 * Reuses storage buffers by size class. Sizes round up to a power of two (min 256 bytes) so that
 * activations of slightly different lengths share buffers. Reuse is safe without waiting: WebGPU
 * executes passes in submission order, so a later write to a recycled buffer lands after every
 * earlier read of it.
 */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private live = 0;
  private pooledBytes = 0;

  constructor(private device: GPUDevice) {}

  static sizeClass(bytes: number): number {
    return Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
  }

  acquire(bytes: number): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    const list = this.free.get(size);
    const reused = list?.pop();
    this.live++;
    if (reused) {
      this.pooledBytes -= size;
      return reused;
    }
    return this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  release(buffer: GPUBuffer): void {
    this.live--;
    const list = this.free.get(buffer.size) ?? [];
    list.push(buffer);
    this.free.set(buffer.size, list);
    this.pooledBytes += buffer.size;
  }

  /** Buffers handed out and not yet released; tests use it to find leaks. */
  get liveBuffers(): number {
    return this.live;
  }

  get idleBytes(): number {
    return this.pooledBytes;
  }

  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
