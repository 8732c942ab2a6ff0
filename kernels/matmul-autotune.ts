/**
 * A short matmul autotune: for each shape class not yet decided on this adapter, every kernel
 * variant that fits runs the shape a few times on random data, its output is checked against the
 * fixed rule's kernel, and the fastest that agrees is cached (kernels/matmul-tune-cache.ts) for
 * matmul.ts to use from then on.
 *
 * CPU emulations (SwiftShader, llvmpipe, WARP) are not tuned unless `force` is set: their
 * timings say nothing about a GPU, and the fixed rule already takes the barrier-free kernel there.
 *
 * @example
 * const shapes = await recordMatmulShapes(() => model.forward(tokens)); // one forward's products
 * const report = await autotuneMatmul(backend.ctx, shapes);
 */
import { isCpuEmulated } from './device';
import type { GpuContext } from './gpu-context';
import { matmulGpu, matmulUnfit, matmulVariant, type MatmulShape, type MatmulVariant } from './matmul';
import { recordMatmulChoice, shapeClass, tunedMatmulVariant } from './matmul-tune-cache';
import type { Tensor } from './tensor';

/** The variants tried, in order (the fixed rule's are among them). */
export const MATMUL_CANDIDATES: readonly MatmulVariant[] = [
  { kernel: 'gemv', wg: 64 },
  { kernel: 'direct', wg: 64 },
  { kernel: 'tiled', sm: 8, sn: 8, tk: 32 },
  { kernel: 'tiled', sm: 4, sn: 8, tk: 16 },
  { kernel: 'vec4', sm: 8, sn: 8, tk: 16 },
  { kernel: 'vec4', sm: 16, sn: 16, tk: 16 },
  { kernel: 'vec4', sm: 8, sn: 16, tk: 32 },
  { kernel: 'vec4', sm: 16, sn: 16, tk: 16, f16: true },
  { kernel: 'vec4', sm: 8, sn: 16, tk: 32, f16: true },
];

export interface AutotuneOptions {
  /** Timed runs per candidate after one untimed (compilation) run; the best counts. Default 3. */
  reps?: number;
  /** Tune even on a CPU emulation, and re-tune classes already decided (tests). */
  force?: boolean;
  candidates?: readonly MatmulVariant[];
}

export interface AutotuneEntry {
  shapeClass: string;
  shape: MatmulShape;
  /** The choice (cached), or undefined when the class was skipped. */
  chosen?: MatmulVariant;
  /** Why nothing was tuned: already cached, CPU emulation. */
  skipped?: string;
  /** Best ms per candidate tried (JSON of the variant → ms), and candidates whose output disagreed. */
  ms?: Record<string, number>;
  rejected?: string[];
}

/** Tune each shape's class (one representative shape per class), caching the choices. */
export async function autotuneMatmul(
  ctx: GpuContext,
  shapes: readonly MatmulShape[],
  opts: AutotuneOptions = {},
): Promise<AutotuneEntry[]> {
  const reps = opts.reps ?? 3;
  const report: AutotuneEntry[] = [];
  const seen = new Set<string>();
  for (const shape of shapes) {
    const cls = shapeClass(shape);
    if (seen.has(cls)) continue;
    seen.add(cls);
    if (!opts.force && isCpuEmulated(ctx.device)) {
      report.push({ shapeClass: cls, shape, skipped: 'CPU emulation (not tuned; the fixed rule applies)' });
      continue;
    }
    const cached = tunedMatmulVariant(ctx.device, shape);
    if (cached && !opts.force) {
      report.push({ shapeClass: cls, shape, chosen: cached, skipped: 'cached' });
      continue;
    }
    report.push(await tuneOne(ctx, shape, opts.candidates ?? MATMUL_CANDIDATES, reps));
  }
  return report;
}

async function tuneOne(
  ctx: GpuContext,
  shape: MatmulShape,
  candidates: readonly MatmulVariant[],
  reps: number,
): Promise<AutotuneEntry> {
  const { m, k, n, transposeA, transposeB, bType } = shape;
  const a = ctx.upload(randomF32(m * k, 1 / Math.sqrt(Math.max(k, 1))), transposeA ? [k, m] : [m, k], 'f32');
  const bShape = transposeB ? [n, k] : [k, n];
  const b: Tensor =
    bType === 'f32'
      ? ctx.upload(randomF32(k * n, 1), bShape, 'f32')
      : ctx.uploadHalf(randomHalf(k * n), bShape, bType);
  const run = (v: MatmulVariant) => matmulGpu(ctx, a, b as Tensor<'f32'>, transposeB, v, transposeA);
  try {
    const reference = await readRelease(ctx, run(matmulVariant(ctx.device, m)));
    const scale = reference.reduce((x, y) => Math.max(x, Math.abs(y)), 0);
    const ms: Record<string, number> = {};
    const rejected: string[] = [];
    let best: { v: MatmulVariant; ms: number } | undefined;
    for (const v of candidates) {
      if (matmulUnfit(ctx.device, v, shape) !== undefined) continue;
      if (v.kernel === 'gemv' ? m >= 64 : false) continue; // one row per thread: hopeless on big M
      const got = await readRelease(ctx, run(v)); // also compiles the pipeline
      if (maxAbsDiff(got, reference) > 1e-3 * Math.max(1, scale)) {
        rejected.push(JSON.stringify(v));
        continue;
      }
      let t = Infinity;
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        const out = run(v);
        await ctx.sync();
        t = Math.min(t, performance.now() - t0);
        ctx.release(out);
      }
      ms[JSON.stringify(v)] = +t.toFixed(3);
      if (!best || t < best.ms) best = { v, ms: t };
    }
    const chosen = best?.v ?? matmulVariant(ctx.device, m);
    recordMatmulChoice(ctx.device, shape, chosen);
    return { shapeClass: shapeClass(shape), shape, chosen, ms, ...(rejected.length ? { rejected } : {}) };
  } finally {
    ctx.release(a);
    ctx.release(b);
  }
}

async function readRelease(ctx: GpuContext, t: Tensor<'f32'>): Promise<Float32Array> {
  const data = Float32Array.from(await ctx.read(t));
  ctx.release(t);
  return data;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Seeded uniform values in [−scale, scale) (the data do not matter for timing). */
function randomF32(n: number, scale: number): Float32Array {
  let s = 0x9e3779b9;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

/** Random half bits with magnitudes in [2⁻³, 2) (f16 and bf16 alike read them as finite numbers). */
function randomHalf(n: number): Uint16Array {
  let s = 0x85ebca6b;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const sign = s >>> 31;
    const exp = 12 + ((s >>> 10) & 3); // f16 exponents 12..15
    out[i] = (sign << 15) | (exp << 10) | (s & 0x3ff);
  }
  return out;
}
