/**
 * The CPU backend's WebAssembly kernels (kernels/wasm/assembly/, compiled ahead of time by
 * scripts/wasm-build.mjs): f32x4 SIMD, run on a pool of threads sharing one WebAssembly.Memory
 * where the platform allows it (Node's worker_threads; in a browser, a worker of a cross-origin
 * isolated page), on the calling thread alone otherwise. The TypeScript kernels (`*.cpu.ts`) stay
 * the references these are tested against.
 *
 * Memory: operands live in the wasm memory, which this class owns and hands out with a small
 * first-fit allocator. A weight's b operand (a tensor made by `weightTensor`) is packed into
 * column panels once, on its first matmul, and kept there until the tensor is disposed or
 * collected; activations are copied in and the result copied out on each call (O(MK + MN) against
 * the O(MNK) product).
 *
 * Threads: a matmul splits its column panels across the pool; the caller runs the first share and
 * waits for the others with `Atomics.wait` (allowed in Node and in workers, where the backend runs).
 */
import type { FloatDType, Tensor } from '../tensor';
import { CpuTensor, cpu, f32, rowsCols, weightRows } from '../cpu-tensor';
import { checkMatmulBias, matmulCpu } from '../matmul.cpu';
import { attentionDims, matmulShape, sameShape } from '../shapes';
import type { ActivationKind, AttentionOptions, AttentionResult, TopKResult } from '../backend';
import { activationCpu, gatedActivationCpu } from '../activation.cpu';
import { layernormCpu, layernormDims } from '../layernorm.cpu';
import { rmsnormCpu, rmsnormDims } from '../rmsnorm.cpu';
import { softmaxCpu } from '../softmax.cpu';
import { topkCpu } from '../topk.cpu';
import { attentionCpu, attentionScoreOptions } from '../attention.cpu';
import {
  KERNELS_WASM_PLAIN,
  KERNELS_WASM_PLAIN_RELAXED,
  KERNELS_WASM_SHARED,
  KERNELS_WASM_SHARED_RELAXED,
} from './build/kernels-wasm';

interface KernelExports {
  gemmPanels(
    a: number,
    m: number,
    k: number,
    bp: number,
    c: number,
    ldc: number,
    bias: number,
    q0: number,
    q1: number,
    kc: number,
    format: number,
    wide: number,
  ): void;
  peakLoop(n: number, s: number, fused: number): number;
  activationRows(x: number, up: number, out: number, n: number, kind: number): void;
  rmsnormRows(x: number, w: number, out: number, rows: number, cols: number, eps: number): void;
  layernormRows(x: number, w: number, b: number, out: number, rows: number, cols: number, eps: number): void;
  softmaxRows(x: number, out: number, rows: number, cols: number): void;
  topkRows(x: number, outV: number, outI: number, rows: number, cols: number, k: number): void;
  attentionHeads(
    q: number,
    k: number,
    v: number,
    out: number,
    att: number,
    t: number,
    qDim: number,
    kvDim: number,
    headDim: number,
    group: number,
    pos0: number,
    window: number,
    scale: number,
    softcap: number,
    h0: number,
    h1: number,
  ): void;
}

/** Largest k the WebAssembly top-k takes (it inserts into the kept k: O(cols · k)). */
const TOPK_MAX_K = 64;
/** Columns per packed panel of b (the kernel's register block is 4 rows × NR columns). */
const NR = 8;
const PAGE = 65536;
/** Bytes below this are never handed out (address 0 means "no bias" to the kernel). */
const BASE = PAGE;
/** wasm32's limit: 65,536 pages of 64 KiB. */
const MAX_PAGES = 65536;
/** Multiply-adds below which a matmul stays on the calling thread (waking the pool costs ~0.05 ms). */
const PARALLEL_MIN_FLOPS = 1 << 21;

export interface WasmKernelOptions {
  /**
   * Threads a kernel may use, the caller's included (default: the machine's available
   * parallelism). 1, or a platform without shared memory and blocking waits, runs on the caller.
   */
  threads?: number;
  /**
   * Use relaxed SIMD's fused multiply-add (the default where the engine has it; Node 20 is
   * switched to it with V8's --experimental-wasm-relaxed-simd). false: plain SIMD mul + add.
   */
  relaxed?: boolean;
  /**
   * Bytes of packed weights kept in the wasm memory (default PACKED_WEIGHT_BUDGET). A weight past
   * it is packed per call into scratch instead, so a model larger than wasm32's 4 GiB still runs.
   */
  packedWeightBudget?: number;
  /**
   * Most bytes the wasm memory may grow to (default, and at most, wasm32's 4 GiB). A call that
   * needs more runs the TypeScript kernel.
   */
  maxMemoryBytes?: number;
  /**
   * Most bytes of a matmul's output held in the wasm memory at once (default OUTPUT_CHUNK_BYTES):
   * a wider product runs in column blocks, each copied out as it is done. The memory never
   * shrinks, so this bounds what a 150k-vocabulary logits product leaves reserved.
   */
  outputChunkBytes?: number;
}

/** Default `WasmKernelOptions.outputChunkBytes`. */
export const OUTPUT_CHUNK_BYTES = 16 << 20;

/** The kernel's formats of packed b (kernels/wasm/assembly/matmul.ts' B_*). */
const PACKED_F32 = 0;
const PACKED_BF16 = 1;
const PACKED_F16 = 2;
/** f16 with no ∞ or NaN among the values: widened with fewer instructions. */
const PACKED_F16_FINITE = 3;

/** Bytes a packed value of b takes: 16-bit weights are packed as their bits. */
function packedBytes(dtype: FloatDType): number {
  return dtype === 'f32' ? 4 : 2;
}

/** Packed weights kept resident up to 3 GiB of the 4 GiB memory; the rest is left for scratch. */
export const PACKED_WEIGHT_BUDGET = 3 * 2 ** 30;

/** The wasm memory cannot hold a request (wasm32's 4 GiB, or the engine refused to grow it). */
class WasmMemoryFull extends Error {}

/** A weight packed into column panels, resident in the wasm memory. */
interface Packed {
  ptr: number;
  bytes: number;
  /** The kernel's format of the panels (PACKED_*). */
  format: number;
}

/** First-fit allocator over the wasm memory (64-byte aligned blocks), growing it as needed. */
class Arena {
  private free: { off: number; size: number }[] = [];
  private top = BASE;
  /** Pages the memory may grow to. */
  maxPages = MAX_PAGES;
  constructor(private readonly memory: WebAssembly.Memory) {}

  alloc(bytes: number): number {
    const size = Math.max(64, Math.ceil(bytes / 64) * 64);
    for (let i = 0; i < this.free.length; i++) {
      const blk = this.free[i]!;
      if (blk.size < size) continue;
      const off = blk.off;
      if (blk.size === size) this.free.splice(i, 1);
      else {
        blk.off += size;
        blk.size -= size;
      }
      return off;
    }
    const off = this.top;
    const end = off + size;
    const pages = this.memory.buffer.byteLength / PAGE;
    const need = Math.ceil(end / PAGE);
    if (need > pages) {
      if (need > this.maxPages) {
        throw new WasmMemoryFull(
          `wasm kernels: ${(end / 2 ** 30).toFixed(2)} GiB would exceed the memory's ${((this.maxPages * PAGE) / 2 ** 30).toFixed(2)} GiB`,
        );
      }
      // Grow by at least a quarter, so a growing model does not grow page by page.
      try {
        this.memory.grow(Math.min(this.maxPages, Math.max(need, Math.ceil(pages * 1.25))) - pages);
      } catch (e) {
        throw new WasmMemoryFull(
          `wasm kernels: the engine would not grow the memory to ${need} pages (${e})`,
        );
      }
    }
    this.top = end;
    return off;
  }

  release(off: number, bytes: number): void {
    const size = Math.max(64, Math.ceil(bytes / 64) * 64);
    let i = 0;
    while (i < this.free.length && this.free[i]!.off < off) i++;
    this.free.splice(i, 0, { off, size });
    // Coalesce with the next block, then the previous one.
    const next = this.free[i + 1];
    if (next && off + size === next.off) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.off + prev.size === off) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
      i--;
    }
    // A free block at the top returns to the untouched region.
    const last = this.free[this.free.length - 1];
    if (last && last.off + last.size === this.top) {
      this.top = last.off;
      this.free.pop();
    }
  }

  /** Bytes handed out and not released. */
  get used(): number {
    return this.top - BASE - this.free.reduce((s, b) => s + b.size, 0);
  }
}

// The pool's control words (Int32Array over a SharedArrayBuffer; one Float32 slot for a scale).
const C_GEN = 0; // job generation: bumped (and notified) per job
const C_QUIT = 1; // 1: workers exit
const C_DONE = 2; // workers finished with the current job
const C_FAIL = 3; // a worker's kernel threw
const C_SHARE = 4; // threads taking part in the job (caller included)
const C_OP = 5; // which kernel (OP_*)
const C_UNITS = 6; // units the job splits: gemm's panels, attention's heads
const C_ARGS = 7; // the kernel's other arguments (see `THREAD_SOURCE`)
const CTRL_WORDS = 24;
const OP_GEMM = 0;
const OP_ATTENTION = 1;

/**
 * A pool thread, the same source for Node (worker_threads, eval) and browsers (a blob worker):
 * instantiate the kernels on the shared memory, then per job compute units [u0, u1) of its share.
 * gemm args: a, m, k, bp, c, ldc, bias, kc, format, wide, wideStride (each thread its own widening
 * scratch). attention args: q, k, v, out, att, t, qDim, kvDim,
 * headDim, group, pos0, window, attStride (each thread its own scratch), scale and softcap (as f32).
 */
const THREAD_SOURCE = `
const start = (msg, post) => {
  const { module, memory, ctrl, index } = msg;
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const c = new Int32Array(ctrl);
  const f = new Float32Array(ctrl);
  const A = ${C_ARGS};
  let gen = Atomics.load(c, ${C_GEN});
  post('ready');
  for (;;) {
    Atomics.wait(c, ${C_GEN}, gen);
    gen = Atomics.load(c, ${C_GEN});
    if (Atomics.load(c, ${C_QUIT})) return;
    const share = c[${C_SHARE}];
    const units = c[${C_UNITS}];
    const u0 = Math.floor((units * index) / share);
    const u1 = Math.floor((units * (index + 1)) / share);
    if (index < share && u1 > u0) {
      try {
        if (c[${C_OP}] === ${OP_GEMM}) {
          ex.gemmPanels(c[A], c[A + 1], c[A + 2], c[A + 3], c[A + 4], c[A + 5], c[A + 6], u0, u1, c[A + 7],
            c[A + 8], c[A + 9] + index * c[A + 10]);
        } else {
          ex.attentionHeads(c[A], c[A + 1], c[A + 2], c[A + 3], c[A + 4] + index * c[A + 12], c[A + 5], c[A + 6],
            c[A + 7], c[A + 8], c[A + 9], c[A + 10], c[A + 11], f[A + 13], f[A + 14], u0, u1);
        }
      } catch (e) {
        Atomics.store(c, ${C_FAIL}, 1);
      }
    }
    Atomics.add(c, ${C_DONE}, 1);
    Atomics.notify(c, ${C_DONE});
  }
};
if (typeof require === 'function') {
  const { parentPort, workerData } = require('node:worker_threads');
  start(workerData, (m) => parentPort.postMessage(m));
} else {
  self.onmessage = (e) => start(e.data, (m) => self.postMessage(m));
}
`;

interface PoolThread {
  terminate(): unknown;
}

/** Whether this thread may block in Atomics.wait (Node, or a worker; never a page's main thread). */
function canBlock(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; document?: unknown };
  if (g.process?.versions?.node) return true;
  return typeof g.document === 'undefined';
}

function isNode(): boolean {
  return !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
}

async function defaultThreads(): Promise<number> {
  if (isNode()) {
    const spec = 'node:os';
    const os = (await import(/* @vite-ignore */ spec)) as typeof import('node:os');
    return os.availableParallelism();
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  if (typeof atob === 'function') {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  throw new Error('wasm kernels: no base64 decoder');
}

/** Start `count` pool threads on the shared memory; resolves once each has instantiated. */
async function startThreads(
  count: number,
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  ctrl: SharedArrayBuffer,
): Promise<PoolThread[]> {
  const threads: Promise<PoolThread>[] = [];
  if (isNode()) {
    const spec = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ spec)) as typeof import('node:worker_threads');
    for (let i = 1; i <= count; i++) {
      threads.push(
        new Promise((resolve, reject) => {
          const w = new Worker(THREAD_SOURCE, {
            eval: true,
            workerData: { module, memory, ctrl, index: i },
          });
          w.once('message', () => {
            w.unref(); // a CLI exits while its pool waits
            resolve(w);
          });
          w.once('error', reject);
        }),
      );
    }
  } else {
    const url = URL.createObjectURL(new Blob([THREAD_SOURCE], { type: 'text/javascript' }));
    try {
      for (let i = 1; i <= count; i++) {
        threads.push(
          new Promise((resolve, reject) => {
            const w = new Worker(url);
            w.onmessage = () => resolve(w);
            w.onerror = (e) => reject(new Error(e.message || 'wasm kernel thread failed to start'));
            w.postMessage({ module, memory, ctrl, index: i });
          }),
        );
      }
      return await Promise.all(threads);
    } finally {
      URL.revokeObjectURL(url);
    }
  }
  return Promise.all(threads);
}

/**
 * The loaded kernels: one memory, one instance per thread. Create with `loadWasmKernels`.
 */
export class WasmKernels {
  private readonly arena: Arena;
  private readonly packed = new WeakMap<object, { t?: Packed; n?: Packed }>();
  private readonly weights = new WeakSet<object>();
  private readonly finalizer: FinalizationRegistry<Packed>;
  private view: Float32Array;
  private destroyed = false;
  /** See `WasmKernelOptions.packedWeightBudget`. */
  packedWeightBudget = PACKED_WEIGHT_BUDGET;
  /** See `WasmKernelOptions.outputChunkBytes`. */
  outputChunkBytes = OUTPUT_CHUNK_BYTES;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: KernelExports,
    private readonly ctrl: Int32Array | undefined,
    private readonly pool: PoolThread[],
    /** Whether the kernels use relaxed SIMD's fused multiply-add. */
    readonly relaxed: boolean,
  ) {
    this.arena = new Arena(memory);
    this.view = new Float32Array(memory.buffer);
    this.finalizer = new FinalizationRegistry((p) => {
      if (!this.destroyed) this.arena.release(p.ptr, p.bytes);
    });
  }

  /** Threads a kernel uses (the caller's included). */
  get threads(): number {
    return this.pool.length + 1;
  }

  /** Bytes the wasm memory has grown to (it never shrinks: the high-water mark of every call). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes of wasm memory in use (packed weights; scratch is released after each call). */
  get bytesInUse(): number {
    return this.arena.used;
  }

  /** What runs the kernels, for the backend's description. */
  get description(): string {
    const simd = this.relaxed ? 'WebAssembly relaxed SIMD (FMA)' : 'WebAssembly SIMD';
    return `${simd}, ${this.threads} thread${this.threads === 1 ? '' : 's'}`;
  }

  /** Mark a tensor as a weight: its packed form is kept across calls (it is never mutated). */
  markWeight(t: Tensor): void {
    this.weights.add(t);
  }

  /** Release a tensor's packed form now (Backend.dispose). */
  forget(t: Tensor): void {
    const p = this.packed.get(t);
    if (!p) return;
    this.packed.delete(t);
    for (const q of [p.t, p.n]) {
      if (!q) continue;
      this.finalizer.unregister(q);
      this.arena.release(q.ptr, q.bytes);
    }
  }

  /** Float32 view of the whole memory, renewed after the memory grew. */
  private f32(): Float32Array {
    if (this.view.byteLength !== this.memory.buffer.byteLength)
      this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /**
   * b as column panels at `ptr` (k·np values, zero past column n): f32 for an f32 b, the 16-bit
   * bits themselves for f16 and bf16 (the kernel widens them), so a 16-bit weight stays 16-bit.
   */
  private pack(B: CpuTensor<FloatDType>, transposeB: boolean, k: number, n: number, ptr: number): number {
    if (B.dtype !== 'f32') {
      const finite = this.pack16(B.data as Uint16Array, transposeB, k, n, ptr);
      if (B.dtype === 'bf16') return PACKED_BF16;
      return finite ? PACKED_F16_FINITE : PACKED_F16;
    }
    const np = Math.ceil(n / NR) * NR;
    const base = ptr >>> 2;
    const view = this.f32();
    if (np !== n) view.fill(0, base + (np / NR - 1) * k * NR, base + (np / NR) * k * NR);
    if (transposeB) {
      // b [n, k]: row j of b is column j of the product; decode 16-bit rows a slab at a time.
      const rowsPer = Math.max(1, Math.floor(65536 / Math.max(k, 1)));
      const scratch = new Float32Array(B.dtype === 'f32' ? 0 : Math.min(rowsPer, n) * k);
      for (let j0 = 0; j0 < n; j0 += rowsPer) {
        const cnt = Math.min(rowsPer, n - j0);
        const rows = weightRows(B, k, j0, cnt, scratch);
        for (let r = 0; r < cnt; r++) {
          const j = j0 + r;
          let o = base + Math.floor(j / NR) * k * NR + (j % NR);
          const src = r * k;
          for (let p = 0; p < k; p++, o += NR) view[o] = rows[src + p]!;
        }
      }
    } else {
      // b [k, n]: row p of b spreads over every panel's row p.
      const scratch = new Float32Array(B.dtype === 'f32' ? 0 : n);
      for (let p = 0; p < k; p++) {
        const row = weightRows(B, n, p, 1, scratch);
        for (let j = 0; j < n; j++) view[base + (Math.floor(j / NR) * k + p) * NR + (j % NR)] = row[j]!;
      }
    }
    return PACKED_F32;
  }

  /**
   * 16-bit b (its bits) as column panels at `ptr`: the layout of `pack`, two bytes a value.
   * Returns whether no value is ∞ or NaN as an f16 (an all-ones exponent).
   */
  private pack16(bits: Uint16Array, transposeB: boolean, k: number, n: number, ptr: number): boolean {
    const np = Math.ceil(n / NR) * NR;
    const base = ptr >>> 1;
    const view = new Uint16Array(this.memory.buffer);
    // Zero bits are +0 in both formats.
    if (np !== n) view.fill(0, base + (np / NR - 1) * k * NR, base + (np / NR) * k * NR);
    if (transposeB) {
      for (let j = 0; j < n; j++) {
        let o = base + Math.floor(j / NR) * k * NR + (j % NR);
        for (let p = 0, src = j * k; p < k; p++, o += NR) view[o] = bits[src + p]!;
      }
    } else {
      for (let p = 0; p < k; p++) {
        for (let j = 0, src = p * n; j < n; j++)
          view[base + (Math.floor(j / NR) * k + p) * NR + (j % NR)] = bits[src + j]!;
      }
    }
    for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7c00) === 0x7c00) return false;
    return true;
  }

  /**
   * Scratch of `bytes` for `body`, released after it; `fallback` (the TypeScript kernel) when the
   * wasm memory cannot hold it (wasm32's 4 GiB, or an engine that will not grow it).
   */
  private withScratch<T>(bytes: number, fallback: () => T, body: (ptr: number) => T): T {
    let ptr: number;
    try {
      ptr = this.arena.alloc(bytes);
    } catch (e) {
      if (e instanceof WasmMemoryFull) return fallback();
      throw e;
    }
    try {
      return body(ptr);
    } catch (e) {
      // A weight packed inside `body` can meet the limit too.
      if (e instanceof WasmMemoryFull) return fallback();
      throw e;
    } finally {
      this.arena.release(ptr, bytes);
    }
  }

  /** See `WasmKernelOptions.maxMemoryBytes`. */
  set maxMemoryBytes(bytes: number) {
    this.arena.maxPages = Math.max(1, Math.min(MAX_PAGES, Math.floor(bytes / PAGE)));
  }

  /** Whether a weight's panels are (or may now be) kept resident: within `packedWeightBudget`. */
  private keepsPacked(B: object, transposeB: boolean, bytes: number): boolean {
    if (this.packed.get(B)?.[transposeB ? 't' : 'n']) return true;
    return this.arena.used + bytes <= this.packedWeightBudget;
  }

  /** The cached panels of a weight, packed on first use. */
  private packedWeight(B: CpuTensor<FloatDType>, transposeB: boolean, k: number, n: number): Packed {
    let entry = this.packed.get(B);
    if (!entry) this.packed.set(B, (entry = {}));
    const key = transposeB ? 't' : 'n';
    let p = entry[key];
    if (!p) {
      const bytes = k * Math.ceil(n / NR) * NR * packedBytes(B.dtype);
      const ptr = this.arena.alloc(bytes);
      p = { ptr, bytes, format: this.pack(B, transposeB, k, n, ptr) };
      entry[key] = p;
      this.finalizer.register(B, p, p);
    }
    return p;
  }

  /** `Backend.matmul` (the contract of kernels/matmul.cpu.ts' `matmulCpu`). */
  matmul(
    a: Tensor<'f32'>,
    b: Tensor<FloatDType>,
    transposeB = false,
    transposeA = false,
    bias?: Tensor<'f32'>,
  ): Tensor<'f32'> {
    const { m, k, n } = matmulShape(a.shape, b.shape, transposeB, transposeA);
    checkMatmulBias(bias, n);
    const B = cpu(b);
    if (this.destroyed || m === 0 || n === 0 || k === 0 || (B.dtype as string) === 'i32') {
      return matmulCpu(a, b, transposeB, transposeA, bias);
    }
    const np = Math.ceil(n / NR) * NR;
    const kc = k > 1024 ? 512 : k;
    const valueBytes = packedBytes(B.dtype);
    const panelBytes = k * np * valueBytes;
    const isWeight = this.weights.has(B) && this.keepsPacked(B, transposeB, panelBytes);
    // The output in blocks of whole panels, each at most outputChunkBytes (one panel at least).
    const panels = np / NR;
    const blockPanels = Math.max(1, Math.min(panels, Math.floor(this.outputChunkBytes / (m * NR * 4))));
    const aBytes = m * k * 4;
    const cBytes = m * blockPanels * NR * 4;
    const biasBytes = bias ? np * 4 : 0;
    // Each thread widens a 16-bit panel's kc-slice into its own kc · NR floats.
    const wideStride = B.dtype === 'f32' ? 0 : Math.ceil((kc * NR * 4) / 64) * 64;
    const wideBytes = wideStride * this.threads;
    const bBytes = isWeight ? 0 : panelBytes;
    // Past wasm32's memory: the TypeScript kernel, slow but with no such limit.
    return this.withScratch(
      aBytes + cBytes + biasBytes + wideBytes + bBytes,
      () => matmulCpu(a, b, transposeB, transposeA, bias),
      (scratch) => {
        const wide = scratch + aBytes + cBytes + biasBytes;
        let bp = wide + wideBytes;
        let format: number;
        if (isWeight) ({ ptr: bp, format } = this.packedWeight(B, transposeB, k, n));
        else format = this.pack(B, transposeB, k, n, bp);
        const aPtr = scratch;
        const cPtr = scratch + aBytes;
        const biasPtr = bias ? cPtr + cBytes : 0;
        const view = this.f32();
        const A = cpu(a).data;
        if (transposeA) {
          // a [k, m] → rows of aᵀ.
          const base = aPtr >>> 2;
          for (let p = 0; p < k; p++) for (let i = 0; i < m; i++) view[base + i * k + p] = A[p * m + i]!;
        } else view.set(A, aPtr >>> 2);
        if (bias) view.set(cpu(bias).data, biasPtr >>> 2);
        const res = new Float32Array(m * n);
        for (let q0 = 0; q0 < panels; q0 += blockPanels) {
          const cols = Math.min(blockPanels, panels - q0) * NR;
          const j0 = q0 * NR;
          const bq = bp + q0 * k * NR * valueBytes;
          const biasQ = biasPtr ? biasPtr + j0 * 4 : 0;
          this.gemm(aPtr, m, k, bq, cPtr, cols, biasQ, kc, format, wide, wideStride);
          // Rows of this block (its padded columns past n dropped) into the result.
          const out = this.f32();
          const c0 = cPtr >>> 2;
          const keep = Math.min(cols, n - j0);
          if (cols === n)
            res.set(out.subarray(c0, c0 + m * n)); // one block, no padding
          else
            for (let i = 0; i < m; i++)
              res.set(out.subarray(c0 + i * cols, c0 + i * cols + keep), i * n + j0);
        }
        return f32(res, [m, n]);
      },
    );
  }

  /** Run gemmPanels over all panels, split across the pool when the product is large enough. */
  private gemm(
    a: number,
    m: number,
    k: number,
    bp: number,
    c: number,
    np: number,
    bias: number,
    kc: number,
    format: number,
    wide: number,
    wideStride: number,
  ): void {
    const panels = np / NR;
    const share = Math.min(this.threads, panels);
    if (!this.ctrl || share < 2 || m * np * k < PARALLEL_MIN_FLOPS) {
      this.kernels.gemmPanels(a, m, k, bp, c, np, bias, 0, panels, kc, format, wide);
      return;
    }
    // The caller is thread 0: its widening scratch is the first.
    const args = [a, m, k, bp, c, np, bias, kc, format, wide, wideStride];
    this.parallel(OP_GEMM, panels, share, args, [], (u1) =>
      this.kernels.gemmPanels(a, m, k, bp, c, np, bias, 0, u1, kc, format, wide),
    );
  }

  /**
   * Post a job to the pool (units [0, units) split evenly over `share` threads; `floats` go in the
   * control words after `args`, as f32), run share 0 on this thread with `own(u1)`, then wait for
   * every pool thread.
   */
  private parallel(
    op: number,
    units: number,
    share: number,
    args: number[],
    floats: readonly number[],
    own: (u1: number) => void,
  ): void {
    const ctrl = this.ctrl!;
    for (let i = 0; i < args.length; i++) ctrl[C_ARGS + i] = args[i]! | 0;
    const f = new Float32Array(ctrl.buffer);
    for (let i = 0; i < floats.length; i++) f[C_ARGS + args.length + i] = floats[i]!;
    ctrl[C_OP] = op;
    ctrl[C_UNITS] = units;
    ctrl[C_SHARE] = share;
    Atomics.store(ctrl, C_DONE, 0);
    Atomics.store(ctrl, C_FAIL, 0);
    Atomics.add(ctrl, C_GEN, 1);
    Atomics.notify(ctrl, C_GEN);
    let failed: unknown;
    try {
      own(Math.floor(units / share));
    } catch (e) {
      failed = e;
    }
    const workers = this.pool.length;
    for (let done = Atomics.load(ctrl, C_DONE); done < workers; done = Atomics.load(ctrl, C_DONE)) {
      Atomics.wait(ctrl, C_DONE, done, 10_000);
    }
    if (failed) throw failed;
    if (Atomics.load(ctrl, C_FAIL)) throw new Error('wasm kernels: a pool thread failed');
  }

  /**
   * `Backend.activation` (act(x)) and `Backend.gatedActivation` (act(gate) · up), the contracts of
   * kernels/activation.cpu.ts, for silu and gelu_tanh (their exponential in f32x4); other kinds
   * run the TypeScript kernel.
   */
  activation(x: Tensor<'f32'>, kind: ActivationKind, up?: Tensor<'f32'>): Tensor<'f32'> {
    const code = kind === 'silu' ? 0 : kind === 'gelu_tanh' ? 1 : -1;
    if (up) sameShape(x.shape, up.shape, 'gatedActivation');
    if (this.destroyed || code < 0) return up ? gatedActivationCpu(x, up, kind) : activationCpu(x, kind);
    const n = x.size;
    const bytes = n * 4;
    const total = (up ? 3 : 2) * bytes;
    return this.withScratch(
      total,
      () => (up ? gatedActivationCpu(x, up, kind) : activationCpu(x, kind)),
      (scratch) => {
        const view = this.f32();
        view.set(cpu(x).data, scratch >>> 2);
        if (up) view.set(cpu(up).data, (scratch + bytes) >>> 2);
        const outPtr = scratch + (up ? 2 : 1) * bytes;
        this.kernels.activationRows(scratch, up ? scratch + bytes : 0, outPtr, n, code);
        const o = outPtr >>> 2;
        return f32(this.f32().slice(o, o + n), x.shape);
      },
    );
  }

  /**
   * `Backend.rmsnorm` and `Backend.layernorm` (kernels/rmsnorm.cpu.ts, kernels/layernorm.cpu.ts)
   * for rows whose width is a multiple of 4; other widths run the TypeScript kernels.
   */
  rmsnorm(x: Tensor<'f32'>, weight: Tensor<'f32'>, eps: number, groupSize?: number): Tensor<'f32'> {
    const [rows, cols] = rmsnormDims(x, weight, groupSize);
    if (this.destroyed || cols % 4 !== 0 || rows === 0) {
      return rmsnormCpu(x, weight, eps, groupSize === undefined ? undefined : { groupSize });
    }
    return this.rowOp(
      x,
      [weight],
      (ptrs, out) => this.kernels.rmsnormRows(ptrs[0]!, ptrs[1]!, out, rows, cols, eps),
      () => rmsnormCpu(x, weight, eps, groupSize === undefined ? undefined : { groupSize }),
    );
  }

  layernorm(
    x: Tensor<'f32'>,
    weight: Tensor<'f32'>,
    bias: Tensor<'f32'> | undefined,
    eps: number,
  ): Tensor<'f32'> {
    const [rows, cols] = layernormDims(x, weight, bias);
    if (this.destroyed || cols % 4 !== 0 || rows === 0) return layernormCpu(x, weight, bias, eps);
    return this.rowOp(
      x,
      bias ? [weight, bias] : [weight],
      (ptrs, out) => this.kernels.layernormRows(ptrs[0]!, ptrs[1]!, ptrs[2] ?? 0, out, rows, cols, eps),
      () => layernormCpu(x, weight, bias, eps),
    );
  }

  /** `Backend.softmax` (kernels/softmax.cpu.ts) over the last dim. */
  softmax(x: Tensor<'f32'>): Tensor<'f32'> {
    const [rows, cols] = rowsCols(x.shape);
    if (this.destroyed || rows === 0 || cols === 0) return softmaxCpu(x);
    return this.rowOp(
      x,
      [],
      (ptrs, out) => this.kernels.softmaxRows(ptrs[0]!, out, rows, cols),
      () => softmaxCpu(x),
    );
  }

  /**
   * `Backend.topk` (kernels/topk.cpu.ts: values descending, ties to the lower index) for k up to
   * TOPK_MAX_K on rows without NaN; anything else runs the TypeScript kernel (a sort).
   */
  topk(x: Tensor<'f32'>, k: number): TopKResult {
    const [rows, cols] = rowsCols(x.shape);
    const X = cpu(x).data;
    if (
      this.destroyed ||
      rows === 0 ||
      !Number.isInteger(k) ||
      k < 1 ||
      k > cols ||
      k > TOPK_MAX_K ||
      X.some(Number.isNaN)
    ) {
      return topkCpu(x, k);
    }
    const inBytes = Math.ceil((X.length * 4) / 16) * 16;
    const outBytes = Math.ceil((rows * k * 4) / 16) * 16;
    const total = inBytes + 2 * outBytes;
    return this.withScratch(
      total,
      () => topkCpu(x, k),
      (scratch) => {
        this.f32().set(X, scratch >>> 2);
        const [vp, ip] = [scratch + inBytes, scratch + inBytes + outBytes];
        this.kernels.topkRows(scratch, vp, ip, rows, cols, k);
        const shape = [...x.shape.slice(0, -1), k];
        const values = this.f32().slice(vp >>> 2, (vp >>> 2) + rows * k);
        const indices = new Int32Array(this.memory.buffer, ip, rows * k).slice();
        return { values: f32(values, shape), indices: new CpuTensor<'i32'>(indices, shape) };
      },
    );
  }

  /** Copy x and the row vectors in, run `kernel(pointers, outPtr)`, copy out a tensor of x's shape. */
  private rowOp(
    x: Tensor<'f32'>,
    vectors: Tensor<'f32'>[],
    kernel: (ptrs: number[], out: number) => void,
    fallback: () => Tensor<'f32'>,
  ): Tensor<'f32'> {
    const inputs = [x, ...vectors];
    const sizes = inputs.map((t) => Math.ceil((t.size * 4) / 16) * 16);
    const total = sizes.reduce((a, b) => a + b, 0) + x.size * 4;
    return this.withScratch(
      total,
      () => fallback(),
      (scratch) => {
        const view = this.f32();
        const ptrs: number[] = [];
        let at = scratch;
        inputs.forEach((t, i) => {
          view.set(cpu(t).data, at >>> 2);
          ptrs.push(at);
          at += sizes[i]!;
        });
        kernel(ptrs, at);
        const o = at >>> 2;
        return f32(this.f32().slice(o, o + x.size), x.shape);
      },
    );
  }

  /**
   * `Backend.attention` (the contract of kernels/attention.cpu.ts) for the plain case: only `out`
   * requested, no soft-cap, headDim a multiple of 4. Anything else runs the TypeScript kernel.
   */
  attention(q: Tensor<'f32'>, k: Tensor<'f32'>, v: Tensor<'f32'>, opts: AttentionOptions): AttentionResult {
    const { t, tk, nHeads, nKvHeads, headDim, pos0 } = attentionDims(q.shape, k.shape, v.shape, opts);
    const { scale, softcap, window } = attentionScoreOptions(opts, headDim);
    if (
      this.destroyed ||
      opts.returnProbs ||
      opts.returnScores ||
      opts.returnRowStats ||
      opts.probe ||
      headDim % 4 !== 0 ||
      t === 0
    ) {
      return attentionCpu(q, k, v, opts);
    }
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;
    // Keys no query sees (a longer KV cache) are not copied.
    const keys = Math.min(tk, pos0 + t);
    const share = Math.min(this.ctrl ? this.threads : 1, nHeads);
    // Each thread's scratch: a score row and kᵀ of one kv head, keysPad floats a row (the kernel's
    // layout: a multiple of 16 with 16 to spare).
    const keysPad = Math.ceil((pos0 + t + 16) / 16) * 16;
    const attStride = (1 + headDim) * keysPad * 4;
    const qBytes = t * qDim * 4;
    const kvBytes = keys * kvDim * 4;
    const total = 2 * qBytes + 2 * kvBytes + share * attStride;
    return this.withScratch(
      total,
      () => attentionCpu(q, k, v, opts),
      (scratch) => {
        const [qp, kp, vp] = [scratch, scratch + qBytes, scratch + qBytes + kvBytes];
        const view = this.f32();
        view.set(cpu(q).data, qp >>> 2);
        const K = cpu(k).data;
        const V = cpu(v).data;
        view.set(keys * kvDim === K.length ? K : K.subarray(0, keys * kvDim), kp >>> 2);
        view.set(keys * kvDim === V.length ? V : V.subarray(0, keys * kvDim), vp >>> 2);
        const outPtr = vp + kvBytes;
        const attPtr = outPtr + qBytes;
        const win = window === Infinity ? 0 : window;
        const group = nHeads / nKvHeads;
        const work = nHeads * t * (pos0 + t / 2) * headDim;
        // Heads [0, h1) of the job (the pool's threads take the rest).
        const heads = (h1: number) =>
          this.kernels.attentionHeads(
            qp,
            kp,
            vp,
            outPtr,
            attPtr,
            t,
            qDim,
            kvDim,
            headDim,
            group,
            pos0,
            win,
            scale,
            softcap,
            0,
            h1,
          );
        if (share < 2 || work < PARALLEL_MIN_FLOPS) heads(nHeads);
        else {
          this.parallel(
            OP_ATTENTION,
            nHeads,
            share,
            [qp, kp, vp, outPtr, attPtr, t, qDim, kvDim, headDim, group, pos0, win, attStride],
            [scale, softcap],
            heads,
          );
        }
        const o = outPtr >>> 2;
        return { out: f32(this.f32().slice(o, o + t * qDim), [t, qDim]) };
      },
    );
  }

  /**
   * This thread's WebAssembly SIMD peak in GFLOP/s: the best of `rounds` timed runs of a loop of
   * 12 independent f32x4 multiply-add chains (kernels/wasm/assembly/matmul.ts `peakLoop`), each a
   * fused multiply-add with `fused` (needs `relaxed`), else a multiply and an add.
   */
  measurePeak(fused = this.relaxed, rounds = 5, iterations = 20_000_000): number {
    if (fused && !this.relaxed) throw new Error('wasm kernels: a fused peak needs the relaxed-SIMD build');
    const f = fused ? 1 : 0;
    this.kernels.peakLoop(iterations, 0.001, f); // tier-up
    let best = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      this.kernels.peakLoop(iterations, 0.001, f);
      best = Math.max(best, (iterations * 12 * 8) / (performance.now() - t0) / 1e6);
    }
    return best;
  }

  /** Stop the pool threads and drop every packed weight (the kernels then fall back to TypeScript). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.ctrl) {
      Atomics.store(this.ctrl, C_QUIT, 1);
      Atomics.add(this.ctrl, C_GEN, 1);
      Atomics.notify(this.ctrl, C_GEN);
    }
    for (const t of this.pool) void t.terminate();
  }
}

/** Whether this JavaScript engine runs WebAssembly SIMD (v128). */
export function wasmSimdSupported(): boolean {
  try {
    return WebAssembly.validate(decodeBase64(KERNELS_WASM_PLAIN));
  } catch {
    return false;
  }
}

/**
 * Whether this engine runs relaxed SIMD (Chromium ≥ 114, Node ≥ 22); Node 20's V8 has it behind
 * --experimental-wasm-relaxed-simd, which is switched on here (it only adds instructions).
 */
export async function wasmRelaxedSimdSupported(): Promise<boolean> {
  const bytes = decodeBase64(KERNELS_WASM_PLAIN_RELAXED);
  if (WebAssembly.validate(bytes)) return true;
  if (!isNode()) return false;
  const spec = 'node:v8';
  const v8 = (await import(/* @vite-ignore */ spec)) as typeof import('node:v8');
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(bytes);
}

/**
 * Compile and instantiate the kernels, with a pool of `threads − 1` workers when shared memory
 * and blocking waits are available (Node; a worker of a cross-origin isolated page). Resolves to
 * null where WebAssembly SIMD is missing (the backend then keeps its TypeScript kernels).
 */
export async function loadWasmKernels(opts: WasmKernelOptions = {}): Promise<WasmKernels | null> {
  if (typeof WebAssembly === 'undefined' || !wasmSimdSupported()) return null;
  const wanted = Math.max(1, Math.floor(opts.threads ?? (await defaultThreads())));
  const relaxed = opts.relaxed !== false && (await wasmRelaxedSimdSupported());
  const isolated =
    typeof SharedArrayBuffer !== 'undefined' &&
    (isNode() || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true);
  if (wanted > 1 && isolated && canBlock()) {
    try {
      const module = await WebAssembly.compile(
        decodeBase64(relaxed ? KERNELS_WASM_SHARED_RELAXED : KERNELS_WASM_SHARED),
      );
      const memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      const ctrlBuf = new SharedArrayBuffer(CTRL_WORDS * 4);
      const pool = await startThreads(wanted - 1, module, memory, ctrlBuf);
      return withBudget(
        new WasmKernels(
          memory,
          instance.exports as unknown as KernelExports,
          new Int32Array(ctrlBuf),
          pool,
          relaxed,
        ),
        opts,
      );
    } catch {
      // No threads here after all (e.g. a Content-Security-Policy without blob: workers): one thread.
    }
  }
  const module = await WebAssembly.compile(
    decodeBase64(relaxed ? KERNELS_WASM_PLAIN_RELAXED : KERNELS_WASM_PLAIN),
  );
  const memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return withBudget(
    new WasmKernels(memory, instance.exports as unknown as KernelExports, undefined, [], relaxed),
    opts,
  );
}

function withBudget(k: WasmKernels, opts: WasmKernelOptions): WasmKernels {
  if (opts.packedWeightBudget !== undefined) k.packedWeightBudget = opts.packedWeightBudget;
  if (opts.maxMemoryBytes !== undefined) k.maxMemoryBytes = opts.maxMemoryBytes;
  if (opts.outputChunkBytes !== undefined) k.outputChunkBytes = opts.outputChunkBytes;
  return k;
}
