import { DeviceLostError } from './backend';
import { BufferPool } from './buffer-pool';
import { formatBytes, GpuLimitError, GpuValidationError, type GpuErrorFilter } from './gpu-errors';
import { GpuTensor, gpu } from './gpu-tensor';
import type { DType, Tensor, TypedArrayFor } from './tensor';
import { sizeOf } from './tensor';
import { storageBytes, type HalfDType } from './weight-dtype';

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

/** The device limits every allocation, binding and dispatch is checked against before it is made. */
export interface GpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupsPerDimension: number;
}

export interface GpuContextOptions {
  /**
   * Lower limits than the device's (each is capped at the device's own): tests use it to reach a
   * limit without allocating gigabytes.
   */
  limits?: Partial<GpuLimits>;
}

/**
 * The `@binding` indices a WGSL source declares `var<storage, read_write>` (what a dispatch may
 * write), resolving `const NAME: u32 = 5u;` names; `undefined` when a binding cannot be resolved
 * (then every bound tensor counts as written).
 */
export function writableBindings(source: string): Set<number> | undefined {
  const consts = new Map<string, number>();
  for (const m of source.matchAll(/\bconst\s+(\w+)\s*(?::\s*\w+\s*)?=\s*(\d+)u?\s*;/g)) {
    consts.set(m[1]!, Number(m[2]));
  }
  const out = new Set<number>();
  const re = /@binding\(\s*(\w+)\s*\)(?:\s*@group\(\s*\w+\s*\))?\s*var\s*<\s*storage\s*,\s*read_write\s*>/g;
  for (const m of source.matchAll(re)) {
    const name = m[1]!;
    const index = /^\d+$/.test(name) ? Number(name) : consts.get(name);
    if (index === undefined) return undefined;
    out.add(index);
  }
  return out;
}

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  writable: Set<number> | undefined;
  /** The epoch it was created in: a pipeline made in a failed batch is dropped and rebuilt. */
  epoch: number;
}

interface CaughtError {
  filter: GpuErrorFilter;
  message: string;
}

/** Pushed in this order (popped in reverse) around every batch of GPU work. */
const FILTERS: readonly GpuErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

/** Most failed batches remembered for poisoning their tensors. */
const MAX_FAILURES = 64;

/**
 * The WebGPU program runner: pipelines cached by key, a buffer pool, batched command encoding,
 * limit checks, error capture and device-loss detection. Ops (the `*.ts` dispatchers next to each
 * `*.wgsl`) only describe programs.
 *
 * Errors. Validation, out-of-memory and internal errors are captured by error scopes that are
 * always open: each submission closes the current scopes (one "epoch" of work) and opens new
 * ones; `device.onuncapturederror` catches anything outside them. A `read()` or `sync()` waits for
 * the scopes of every epoch up to its own and rejects with a GpuValidationError if one caught an
 * error since the last one was reported, so no read ever returns the numbers of a failed batch (a
 * tensor last written in a failed epoch rejects on every later read too). Once reported, the
 * context is usable again for new work. Sizes over the device's limits are refused up front with a
 * GpuLimitError, before any buffer is created.
 */
export class GpuContext {
  readonly pool: BufferPool;
  readonly limits: GpuLimits;
  private pipelines = new Map<string, CachedPipeline>();
  private encoder: GPUCommandEncoder | undefined;
  private pendingPasses = 0;
  private transient: GPUBuffer[] = [];
  private lostInfo: GPUDeviceLostInfo | undefined;
  /** The open error-scope epoch: work encoded or created now is checked when it closes. */
  private epoch = 0;
  /** Errors of epochs before this one have been reported to some read/sync. */
  private clearedBefore = 0;
  /** Epochs whose scopes were popped and have not answered yet. */
  private checks = new Map<number, Promise<void>>();
  private failures = new Map<number, CaughtError>();
  /** Epoch each pooled buffer was created in (a buffer created in a failed epoch is not reused). */
  private bufferEpoch = new WeakMap<GPUBuffer, number>();
  /** Print generated WGSL of each new pipeline (debugging). */
  debugShaders = false;

  constructor(
    readonly device: GPUDevice,
    options: GpuContextOptions = {},
  ) {
    const d = device.limits;
    const cap = (name: keyof GpuLimits) => Math.min(d[name], options.limits?.[name] ?? Infinity);
    this.limits = {
      maxBufferSize: cap('maxBufferSize'),
      maxStorageBufferBindingSize: cap('maxStorageBufferBindingSize'),
      maxStorageBuffersPerShaderStage: cap('maxStorageBuffersPerShaderStage'),
      maxComputeWorkgroupsPerDimension: cap('maxComputeWorkgroupsPerDimension'),
    };
    this.pool = new BufferPool(device, this.limits);
    void device.lost.then((info) => {
      this.lostInfo = info;
    });
    try {
      device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => this.uncaptured(ev.error);
    } catch {
      // A device object that does not take the handler still has the error scopes below.
    }
    this.openScopes();
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

  /** Throw GpuLimitError unless a buffer of `bytes` fits `maxBufferSize`. */
  checkBufferSize(bytes: number, what: string): void {
    const max = this.limits.maxBufferSize;
    if (bytes > max) {
      throw new GpuLimitError(
        'maxBufferSize',
        bytes,
        max,
        `${what} needs ${formatBytes(bytes)}, over this GPU's maxBufferSize of ${formatBytes(max)}; use a smaller model, input or setting`,
      );
    }
  }

  /** A tensor's buffer: pooled by size class, or with `exact` its own buffer (weights). */
  createTensor<D extends DType>(shape: readonly number[], dtype: D, exact = false): GpuTensor<D> {
    this.checkAlive();
    const bytes = storageBytes(dtype, sizeOf(shape));
    this.checkBufferSize(bytes, `a ${dtype} tensor of shape [${shape.join(', ')}]`);
    const buffer = exact ? this.pool.acquireExact(bytes) : this.pool.acquire(bytes);
    if (!this.bufferEpoch.has(buffer)) this.bufferEpoch.set(buffer, this.epoch);
    const t = new GpuTensor(buffer, shape, dtype);
    t.writtenEpoch = this.epoch;
    return t;
  }

  upload<D extends DType>(
    data: Float32Array | Int32Array,
    shape: readonly number[],
    dtype: D,
    exact = false,
  ): GpuTensor<D> {
    const t = this.createTensor(shape, dtype, exact);
    // queue.writeBuffer runs before still-unsubmitted passes, which may read this recycled buffer.
    this.flush();
    t.writtenEpoch = this.epoch;
    if (data.byteLength > 0)
      this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return t;
  }

  /**
   * A 16-bit weight's bits as an f16 / bf16 tensor in a buffer of its own size, two values to a
   * u32 word (kernels/weight-wgsl.ts). writeBuffer copies whole words: an odd last value goes in
   * a word of its own.
   */
  uploadHalf<D extends HalfDType>(bits: Uint16Array, shape: readonly number[], dtype: D): GpuTensor<D> {
    const t = this.createTensor(shape, dtype, true);
    this.flush();
    t.writtenEpoch = this.epoch;
    const even = bits.length & ~1;
    if (even > 0) this.device.queue.writeBuffer(t.buffer, 0, bits.buffer, bits.byteOffset, even * 2);
    if (even < bits.length) this.device.queue.writeBuffer(t.buffer, even * 2, Uint16Array.of(bits[even]!, 0));
    return t;
  }

  /** A tensor of zeros, cleared on the GPU (no host array of its size is made). */
  zeros<D extends DType>(shape: readonly number[], dtype: D): GpuTensor<D> {
    const t = this.createTensor(shape, dtype);
    const bytes = storageBytes(dtype, t.size);
    if (bytes > 0) {
      this.currentEncoder().clearBuffer(t.buffer, 0, bytes);
      this.pendingPasses++;
    }
    return t;
  }

  release(t: Tensor): void {
    if (t.backend !== 'webgpu') return;
    const g = t as GpuTensor;
    if (g.disposed) return;
    g.disposed = true;
    const born = this.bufferEpoch.get(g.buffer);
    if (born !== undefined && this.failures.has(born)) this.pool.discard(g.buffer);
    else this.pool.release(g.buffer);
  }

  pipeline(key: string, code: () => string): GPUComputePipeline {
    return this.cachedPipeline(key, code).pipeline;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  dispatch(spec: DispatchSpec): void {
    this.checkAlive();
    const [x, y = 1, z = 1] = spec.workgroups;
    const maxGroups = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxGroups || y > maxGroups || z > maxGroups) {
      const most = Math.max(x, y, z);
      throw new GpuLimitError(
        'maxComputeWorkgroupsPerDimension',
        most,
        maxGroups,
        `${spec.key}: ${most} workgroups in one dimension, over this GPU's maxComputeWorkgroupsPerDimension of ${maxGroups}`,
      );
    }
    const maxBuffers = this.limits.maxStorageBuffersPerShaderStage;
    if (spec.tensors.length > maxBuffers) {
      throw new GpuLimitError(
        'maxStorageBuffersPerShaderStage',
        spec.tensors.length,
        maxBuffers,
        `${spec.key}: ${spec.tensors.length} storage buffers, over this GPU's maxStorageBuffersPerShaderStage of ${maxBuffers}`,
      );
    }
    const maxBinding = this.limits.maxStorageBufferBindingSize;
    const tensors = spec.tensors.map((t) => gpu(t));
    const entries: GPUBindGroupEntry[] = tensors.map((t, i) => {
      if (t.buffer.size <= maxBinding) return { binding: i, resource: { buffer: t.buffer } };
      // The pooled buffer is larger than one binding may be: bind just the tensor's data.
      const bytes = Math.max(4, storageBytes(t.dtype, t.size));
      if (bytes > maxBinding) {
        throw new GpuLimitError(
          'maxStorageBufferBindingSize',
          bytes,
          maxBinding,
          `${spec.key}: binding ${i}, a ${t.dtype} tensor of shape [${t.shape.join(', ')}], needs ${formatBytes(bytes)}, over this GPU's maxStorageBufferBindingSize of ${formatBytes(maxBinding)}; use a smaller model, input or setting`,
        );
      }
      return { binding: i, resource: { buffer: t.buffer, size: bytes } };
    });
    const cached = this.cachedPipeline(spec.key, spec.code);
    if (spec.uniforms?.length) {
      entries.push({ binding: entries.length, resource: { buffer: this.uniformBuffer(spec.uniforms) } });
    }
    const bindGroup = this.device.createBindGroup({
      layout: cached.pipeline.getBindGroupLayout(0),
      entries,
    });
    const pass = this.currentEncoder().beginComputePass({ label: spec.key });
    pass.setPipeline(cached.pipeline);
    pass.setBindGroup(0, bindGroup);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    pass.end();
    tensors.forEach((t, i) => {
      if (!cached.writable || cached.writable.has(i)) t.writtenEpoch = this.epoch;
    });
    if (++this.pendingPasses >= 64) this.flush();
  }

  copy(src: Tensor, srcOffsetBytes: number, dst: Tensor, dstOffsetBytes: number, bytes: number): void {
    this.checkAlive();
    const d = gpu(dst);
    this.currentEncoder().copyBufferToBuffer(
      gpu(src).buffer,
      srcOffsetBytes,
      d.buffer,
      dstOffsetBytes,
      bytes,
    );
    d.writtenEpoch = this.epoch;
    this.pendingPasses++;
  }

  /**
   * Submit the batched passes; the submission closes the current error-scope epoch (`rotate` also
   * closes it when nothing was encoded, so a read sees errors of buffers created meanwhile).
   */
  flush(rotate = false): void {
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = undefined;
      this.pendingPasses = 0;
      for (const b of this.transient) b.destroy();
      this.transient = [];
      rotate = true;
    }
    if (rotate) this.rotate();
  }

  async read<D extends DType>(t: Tensor<D>): Promise<TypedArrayFor<D>> {
    this.checkAlive();
    const src = gpu(t);
    const since = this.clearedBefore;
    const bytes = storageBytes(src.dtype, src.size);
    const staging = this.device.createBuffer({
      size: Math.max(bytes, 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (bytes > 0) this.currentEncoder().copyBufferToBuffer(src.buffer, 0, staging, 0, bytes);
    this.flush(true);
    const upto = this.epoch - 1;
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      staging.destroy();
      await this.settleLoss();
      await this.verify(since, upto, src);
      throw e;
    }
    try {
      await this.verify(since, upto, src);
    } catch (e) {
      staging.unmap();
      staging.destroy();
      throw e;
    }
    const copy = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    if (src.dtype === 'f16' || src.dtype === 'bf16') return new Uint16Array(copy, 0, src.size) as never;
    return (src.dtype === 'f32' ? new Float32Array(copy) : new Int32Array(copy)) as never;
  }

  /**
   * Resolves when all submitted work has finished; rejects with DeviceLostError if the device died
   * and with GpuValidationError if any work since the last reported error failed.
   */
  async sync(): Promise<void> {
    const since = this.clearedBefore;
    this.flush(true);
    const upto = this.epoch - 1;
    await this.device.queue.onSubmittedWorkDone();
    await this.verify(since, upto);
  }

  /** Run fn, submit its work and throw a GpuValidationError if any of it (or earlier work) failed. */
  async checked<T>(fn: () => T | Promise<T>): Promise<T> {
    const since = this.clearedBefore;
    let result: T | undefined;
    let thrown: unknown;
    try {
      result = await fn();
    } catch (e) {
      thrown = e;
    }
    this.flush(true);
    await this.verify(since, this.epoch - 1);
    if (thrown !== undefined) throw thrown;
    return result as T;
  }

  destroy(): void {
    this.flush();
    this.pool.destroy();
    this.pipelines.clear();
    this.device.destroy();
  }

  private cachedPipeline(key: string, code: () => string): CachedPipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const source = code();
      if (this.debugShaders) console.log(`// ${key}\n${source}`);
      const module = this.device.createShaderModule({ label: key, code: source });
      const pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      p = { pipeline, writable: writableBindings(source), epoch: this.epoch };
      this.pipelines.set(key, p);
    }
    return p;
  }

  private openScopes(): void {
    for (const f of FILTERS) this.device.pushErrorScope(f);
  }

  /** Close the open epoch's error scopes (their answer is awaited by reads) and open the next. */
  private rotate(): void {
    const closed = this.epoch++;
    const popped: Promise<CaughtError | undefined>[] = [];
    for (const filter of [...FILTERS].reverse()) {
      let p: Promise<GPUError | null>;
      try {
        p = this.device.popErrorScope();
      } catch {
        p = Promise.resolve(null);
      }
      // A lost device may reject the pop; its loss is reported by checkAlive instead.
      popped.push(
        p.then((err) => (err ? { filter, message: err.message } : undefined)).catch(() => undefined),
      );
    }
    this.openScopes();
    const check = Promise.all(popped).then((caught) => {
      // Popped innermost first; report the outermost filter (validation) before the others.
      const first = caught.reverse().find((c) => c !== undefined);
      if (first) this.fail(closed, first);
      this.checks.delete(closed);
    });
    this.checks.set(closed, check);
  }

  private fail(epoch: number, error: CaughtError): void {
    if (this.failures.has(epoch)) return;
    this.failures.set(epoch, error);
    if (this.failures.size > MAX_FAILURES) this.failures.delete(this.failures.keys().next().value!);
    // A pipeline created in a failed batch may itself be what failed: build it again next time.
    for (const [key, p] of this.pipelines) if (p.epoch === epoch) this.pipelines.delete(key);
  }

  /** An error no scope caught: charge it to the oldest epoch not yet reported. */
  private uncaptured(error: GPUError): void {
    const filter: GpuErrorFilter =
      typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError
        ? 'out-of-memory'
        : typeof GPUInternalError !== 'undefined' && error instanceof GPUInternalError
          ? 'internal'
          : 'validation';
    this.fail(this.clearedBefore, { filter, message: error.message });
  }

  /**
   * Wait for the error scopes of epochs up to `upto`, then throw DeviceLostError if the device is
   * gone, or GpuValidationError for an error in epochs [since, upto] or in the epoch that last
   * wrote `tensor`.
   */
  private async verify(since: number, upto: number, tensor?: GpuTensor): Promise<void> {
    const pending = [...this.checks].filter(([e]) => e <= upto).map(([, p]) => p);
    if (pending.length > 0) await Promise.all(pending);
    this.checkAlive();
    let found: CaughtError | undefined;
    for (const [e, f] of this.failures) {
      if (e >= since && e <= upto) {
        found = f;
        break;
      }
    }
    const poisoned = tensor ? this.failures.get(tensor.writtenEpoch) : undefined;
    if (!found && !poisoned) return;
    this.clearedBefore = Math.max(this.clearedBefore, upto + 1);
    if (found) throw new GpuValidationError(found.filter, describe(found));
    throw new GpuValidationError(
      poisoned!.filter,
      `${describe(poisoned!)} (this tensor was computed by the GPU work that failed)`,
    );
  }

  /** After a failed map, give a device loss a moment to be reported (it resolves asynchronously). */
  private async settleLoss(): Promise<void> {
    if (this.lostInfo) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.device.lost, new Promise((r) => (timer = setTimeout(r, 200)))]);
    clearTimeout(timer);
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

function describe(e: CaughtError): string {
  const hint =
    e.filter === 'out-of-memory' ? ' — the GPU ran out of memory; try a smaller model or input' : '';
  return `WebGPU ${e.filter} error: ${e.message}${hint}`;
}
