import { DeviceLostError } from './backend';
import { BufferPool } from './buffer-pool';
import { GpuTensor, gpu } from './gpu-tensor';
import type { DType, Tensor } from './tensor';
import { sizeOf } from './tensor';

/** Uniform values of one dispatch: u32 (integers) and f32 (reals), packed in declaration order. */
export type UniformValue = { u32: number } | { f32: number } | { i32: number };

export interface DispatchSpec {
  /** Cache key: op name + everything that changes the generated WGSL (not the data). */
  key: string;
  /** WGSL source, generated only when the key is new. */
  code: () => string;
  /** Bound in order at @binding(0..n-1) of @group(0); the last binding is the uniform block, if any. */
  tensors: Tensor[];
  uniforms?: UniformValue[];
  workgroups: [number, number?, number?];
}

/** Largest workgroup count per dimension that WebGPU guarantees. */
export const MAX_WORKGROUPS = 65535;

/**
 * Split a 1-D workgroup count over x and y so it stays within the per-dimension limit. Shaders
 * recover the flat index as `wid.x + wid.y * nwg.x` (with `@builtin(num_workgroups) nwg`).
 */
export function grid(groups: number): [number, number] {
  if (groups <= MAX_WORKGROUPS) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS);
  return [Math.ceil(groups / y), y];
}

/**
 * The WebGPU program runner: pipelines cached by key, a buffer pool, batched command encoding and
 * device-loss detection. Ops (the `*.ts` dispatchers next to each `*.wgsl`) only describe programs.
 */
export class GpuContext {
  readonly pool: BufferPool;
  private pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | undefined;
  private pendingPasses = 0;
  private transient: GPUBuffer[] = [];
  private lostInfo: GPUDeviceLostInfo | undefined;
  /** Print generated WGSL of each new pipeline (debugging). */
  debugShaders = false;

  constructor(readonly device: GPUDevice) {
    this.pool = new BufferPool(device);
    void device.lost.then((info) => {
      this.lostInfo = info;
    });
  }

  get lost(): boolean {
    return this.lostInfo !== undefined;
  }

  checkAlive(): void {
    if (this.lostInfo) {
      throw new DeviceLostError(
        this.lostInfo.reason,
        `The GPU device was lost (${this.lostInfo.reason}: ${this.lostInfo.message || 'no message'}). Reload the model to continue; results computed so far are kept.`,
      );
    }
  }

  createTensor<D extends DType>(shape: readonly number[], dtype: D): GpuTensor<D> {
    this.checkAlive();
    const bytes = sizeOf(shape) * 4;
    return new GpuTensor(this.pool.acquire(bytes), shape, dtype);
  }

  upload<D extends DType>(data: Float32Array | Int32Array, shape: readonly number[], dtype: D): GpuTensor<D> {
    const t = this.createTensor(shape, dtype);
    // queue.writeBuffer runs before still-unsubmitted passes, which may read this recycled buffer.
    this.flush();
    if (data.byteLength > 0)
      this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return t;
  }

  release(t: Tensor): void {
    if (t.backend !== 'webgpu') return;
    const g = t as GpuTensor;
    if (g.disposed) return;
    g.disposed = true;
    this.pool.release(g.buffer);
  }

  pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const source = code();
      if (this.debugShaders) console.log(`// ${key}\n${source}`);
      const module = this.device.createShaderModule({ label: key, code: source });
      p = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  dispatch(spec: DispatchSpec): void {
    this.checkAlive();
    const pipeline = this.pipeline(spec.key, spec.code);
    const entries: GPUBindGroupEntry[] = spec.tensors.map((t, i) => ({
      binding: i,
      resource: { buffer: gpu(t).buffer },
    }));
    if (spec.uniforms?.length) {
      entries.push({ binding: entries.length, resource: { buffer: this.uniformBuffer(spec.uniforms) } });
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const [x, y = 1, z = 1] = spec.workgroups;
    const pass = this.currentEncoder().beginComputePass({ label: spec.key });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    pass.end();
    if (++this.pendingPasses >= 64) this.flush();
  }

  copy(src: Tensor, srcOffsetBytes: number, dst: Tensor, dstOffsetBytes: number, bytes: number): void {
    this.checkAlive();
    this.currentEncoder().copyBufferToBuffer(
      gpu(src).buffer,
      srcOffsetBytes,
      gpu(dst).buffer,
      dstOffsetBytes,
      bytes,
    );
    this.pendingPasses++;
  }

  /** Submit the batched passes. */
  flush(): void {
    if (!this.encoder) return;
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.pendingPasses = 0;
    for (const b of this.transient) b.destroy();
    this.transient = [];
  }

  async read<D extends DType>(t: Tensor<D>): Promise<D extends 'f32' ? Float32Array : Int32Array> {
    const src = gpu(t);
    const bytes = src.size * 4;
    const staging = this.device.createBuffer({
      size: Math.max(bytes, 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (bytes > 0) this.currentEncoder().copyBufferToBuffer(src.buffer, 0, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      staging.destroy();
      this.checkAlive();
      throw e;
    }
    const copy = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return (src.dtype === 'f32' ? new Float32Array(copy) : new Int32Array(copy)) as never;
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkAlive();
  }

  /** Run fn inside validation + out-of-memory error scopes and throw what they caught. */
  async checked<T>(fn: () => T | Promise<T>): Promise<T> {
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    let result: T | undefined;
    let thrown: unknown;
    try {
      result = await fn();
      this.flush();
    } catch (e) {
      thrown = e;
    }
    // Scopes are popped whatever happened, so a failing case cannot leak them into the next.
    const oom = await this.device.popErrorScope();
    const validation = await this.device.popErrorScope();
    const err = validation ?? oom;
    if (err) throw new Error(`WebGPU ${validation ? 'validation' : 'out-of-memory'} error: ${err.message}`);
    if (thrown !== undefined) throw thrown;
    return result as T;
  }

  destroy(): void {
    this.flush();
    this.pool.destroy();
    this.pipelines.clear();
    this.device.destroy();
  }

  private currentEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private uniformBuffer(values: UniformValue[]): GPUBuffer {
    // Uniform structs round up to 16 bytes.
    const size = Math.max(16, Math.ceil((values.length * 4) / 16) * 16);
    const buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    const range = buffer.getMappedRange();
    const u32 = new Uint32Array(range);
    const f32 = new Float32Array(range);
    const i32 = new Int32Array(range);
    values.forEach((v, i) => {
      if ('u32' in v) u32[i] = v.u32;
      else if ('i32' in v) i32[i] = v.i32;
      else f32[i] = v.f32;
    });
    buffer.unmap();
    this.transient.push(buffer);
    return buffer;
  }
}
