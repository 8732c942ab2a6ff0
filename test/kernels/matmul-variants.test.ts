/**
 * The matmul kernels for real GPUs — vec4 (vec4 global reads into shared-memory tiles) with f32
 * and f16 weights, and its `shader-f16` flavour — and the per-adapter autotune that picks among
 * all kernels. Every variant is forced on the WebGPU backend and compared with the CPU reference
 * (matmulCpu) on shapes with edge tiles (M and N not multiples of the tile, K not a multiple of
 * the K step); the chosen path then runs the same cases on both backends.
 *
 * SwiftShader has no `shader-f16`: the native-f16 cases then check that capability detection
 * refuses the variant (forced: a clear error; autotune: never tried) and say so on the console,
 * rather than passing without running.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { createCpuBackend } from '../../kernels/cpu-backend';
import type { Tensor } from '../../kernels/tensor';
import {
  chooseMatmul,
  matmulGpu,
  matmulUnfit,
  type MatmulShape,
  type MatmulVariant,
} from '../../kernels/matmul';
import { autotuneMatmul, MATMUL_CANDIDATES } from '../../kernels/matmul-autotune';
import {
  adapterKey,
  localStorageStore,
  matmulChoices,
  recordMatmulChoice,
  recordMatmulShapes,
  setMatmulTuneStore,
  shapeClass,
  tunedMatmulVariant,
  type TuneStore,
} from '../../kernels/matmul-tune-cache';
import { halfArray } from '../../kernels/weight-dtype';
import { f32ToF16Bits } from '../../runtime/formats/safetensors-dtypes';
import { describeBackends, expectClose, randn, TOL_REDUCTION, useWebGpu } from './harness';

const VEC4: MatmulVariant[] = [
  { kernel: 'vec4', sm: 8, sn: 8, tk: 16 },
  { kernel: 'vec4', sm: 16, sn: 16, tk: 16 },
  { kernel: 'vec4', sm: 8, sn: 16, tk: 32 },
  { kernel: 'vec4', sm: 1, sn: 2, tk: 4 },
];

/** [M, K, N] with K % 4 == 0 and N % 4 == 0: single rows, edge tiles everywhere, K past TK. */
const SHAPES: [number, number, number][] = [
  [1, 4, 4],
  [3, 8, 12],
  [5, 36, 20],
  [33, 68, 36],
  [70, 132, 100],
];

const ref = createCpuBackend();

/** a [m, k] ~ N(0, 1/√k) and b (f32, or rounded to f16) in both layouts, from one seed. */
function operands(m: number, k: number, n: number, seed: number, f16: boolean) {
  const A = randn(seed, m * k, 1 / Math.sqrt(k));
  const B = randn(seed + 1, k * n);
  const bits = Uint16Array.from(B, f32ToF16Bits);
  return { A, B, bits, bias: randn(seed + 2, n), f16 };
}

async function product(
  be: Backend,
  o: ReturnType<typeof operands>,
  m: number,
  k: number,
  n: number,
  transposeB: boolean,
  withBias: boolean,
  variant?: MatmulVariant,
): Promise<Float32Array> {
  const bShape = transposeB ? [n, k] : [k, n];
  const x = be.tensor(o.A, [m, k]);
  const y = o.f16 ? be.weightTensor(halfArray('f16', o.bits), bShape) : be.tensor(o.B, bShape);
  const bias = withBias ? be.tensor(o.bias, [n]) : undefined;
  let z: Tensor<'f32'> | undefined;
  try {
    z = variant
      ? matmulGpu(
          (be as unknown as { ctx: Parameters<typeof matmulGpu>[0] }).ctx,
          x,
          y,
          transposeB,
          variant,
          false,
          bias,
        )
      : be.matmul(x, y as Tensor<'f32'>, { transposeB, bias });
    const out = Float32Array.from(await be.read(z));
    return out;
  } finally {
    be.dispose(x, y, bias, z);
  }
}

describe('matmul vec4 kernels [webgpu] (forced, vs the CPU reference)', () => {
  const gpu = useWebGpu();

  for (const variant of VEC4) {
    for (const f16 of [false, true]) {
      it(`${JSON.stringify(variant)} with ${f16 ? 'f16' : 'f32'} b, both layouts, with and without bias`, async () => {
        // Edge tiles for every tile size up to 64 (the largest shape runs in the tuned-path case
        // below); f16 changes only the loads: two shapes cover it (SwiftShader is slow here).
        for (const [m, k, n] of f16 ? SHAPES.slice(2, 4) : SHAPES.slice(0, 4)) {
          for (const transposeB of [true, false]) {
            const o = operands(m, k, n, m * 7 + k + n, f16);
            const withBias = (m + n) % 2 === 1;
            const want = await product(ref, o, m, k, n, transposeB, withBias);
            const got = await gpu().ctx.checked(() =>
              product(gpu(), o, m, k, n, transposeB, withBias, variant),
            );
            expectClose(got, want, TOL_REDUCTION, `[${m}, ${k}, ${n}]${transposeB ? 'ᵀ' : ''}`);
          }
        }
      });
    }
  }

  it('refuses shapes it cannot run, with the reason', () => {
    const device = gpu().ctx.device;
    const v: MatmulVariant = { kernel: 'vec4', sm: 8, sn: 8, tk: 16 };
    const s = (o: Partial<MatmulShape>): MatmulShape => ({
      m: 8,
      k: 8,
      n: 8,
      transposeA: false,
      transposeB: true,
      bType: 'f32',
      ...o,
    });
    expect(matmulUnfit(device, v, s({}))).toBeUndefined();
    expect(matmulUnfit(device, v, s({ k: 6 }))).toMatch(/K = 6 is not a positive multiple of 4/);
    expect(matmulUnfit(device, v, s({ k: 0 }))).toMatch(/K = 0/);
    expect(matmulUnfit(device, v, s({ n: 6, transposeB: false }))).toMatch(/N = 6/);
    expect(matmulUnfit(device, v, s({ n: 6, transposeB: true }))).toBeUndefined();
    expect(matmulUnfit(device, v, s({ bType: 'bf16' }))).toMatch(/bf16/);
    expect(matmulUnfit(device, v, s({ transposeA: true }))).toMatch(/transposed/);
    const x = gpu().tensor(new Float32Array(8 * 6), [8, 6]);
    const y = gpu().tensor(new Float32Array(8 * 6), [8, 6]);
    expect(() => matmulGpu(gpu().ctx, x, y, true, v)).toThrow(/K = 6 is not a positive multiple of 4/);
    gpu().dispose(x, y);
  });

  it('f16-native (shader-f16): runs against the reference where the device has it, is refused loudly where not', async () => {
    const device = gpu().ctx.device;
    const has = device.features.has('shader-f16');
    const native: MatmulVariant = { kernel: 'vec4', sm: 8, sn: 8, tk: 16, f16: true };
    const shape: MatmulShape = { m: 33, k: 68, n: 36, transposeA: false, transposeB: true, bType: 'f16' };
    if (!has) {
      console.warn(
        `SKIPPED by capability detection: this adapter (${adapterKey(device)}) has no shader-f16, ` +
          'so the native-f16 matmul did NOT run here; checking that it is refused instead.',
      );
      expect(matmulUnfit(device, native, shape)).toMatch(/no shader-f16/);
      const o = operands(4, 8, 8, 1, true);
      await expect(product(gpu(), o, 4, 8, 8, true, false, native)).rejects.toThrow(/no shader-f16/);
      // The autotune never tries it.
      const report = await autotuneMatmul(gpu().ctx, [shape], { force: true, reps: 1 });
      expect(Object.keys(report[0]!.ms!).some((v) => v.includes('"f16":true'))).toBe(false);
      return;
    }
    for (const [m, k, n] of SHAPES) {
      for (const transposeB of [true, false]) {
        const o = operands(m, k, n, m + k + n, true);
        const want = await product(ref, o, m, k, n, transposeB, true);
        const got = await gpu().ctx.checked(() => product(gpu(), o, m, k, n, transposeB, true, native));
        expectClose(got, want, TOL_REDUCTION, `f16 native [${m}, ${k}, ${n}]`);
      }
    }
  });
});

describe('matmul autotune [webgpu]', () => {
  const gpu = useWebGpu();
  const saved: Record<string, MatmulVariant>[] = [];
  const fake: TuneStore = { load: () => saved.at(-1) ?? {}, save: (e) => void saved.push({ ...e }) };
  afterEach(() => setMatmulTuneStore(localStorageStore()));

  it('is not run on a CPU emulation unless forced', async () => {
    setMatmulTuneStore(fake);
    const shape: MatmulShape = { m: 16, k: 16, n: 16, transposeA: false, transposeB: true, bType: 'f32' };
    const [entry] = await autotuneMatmul(gpu().ctx, [shape]);
    const emulated = /swiftshader|llvmpipe|lavapipe/i.test(adapterKey(gpu().ctx.device));
    if (emulated) expect(entry!.skipped).toMatch(/CPU emulation/);
    else expect(entry!.chosen).toBeDefined();
  });

  it('times the fitting candidates, caches the fastest per adapter and shape class, and matmul uses it', async () => {
    setMatmulTuneStore(fake);
    const device = gpu().ctx.device;
    const shapes: MatmulShape[] = [
      { m: 40, k: 64, n: 48, transposeA: false, transposeB: true, bType: 'f32' },
      { m: 40, k: 63, n: 48, transposeA: false, transposeB: true, bType: 'f32' }, // vec4 cannot
      { m: 1, k: 64, n: 48, transposeA: false, transposeB: true, bType: 'f16' },
    ];
    const report = await autotuneMatmul(gpu().ctx, shapes, { force: true, reps: 1 });
    expect(report).toHaveLength(3);
    for (const [i, e] of report.entries()) {
      expect(e.chosen, e.shapeClass).toBeDefined();
      expect(matmulUnfit(device, e.chosen!, shapes[i]!)).toBeUndefined();
      expect(e.rejected ?? []).toEqual([]);
      // Every fitting candidate was timed (gemv only below 64 rows).
      const fitting = MATMUL_CANDIDATES.filter((v) => matmulUnfit(device, v, shapes[i]!) === undefined);
      expect(Object.keys(e.ms!).length).toBe(fitting.length);
      expect(tunedMatmulVariant(device, shapes[i]!)).toEqual(e.chosen);
      expect(chooseMatmul(device, shapes[i]!)).toEqual(e.chosen);
    }
    expect(Object.keys(report[1]!.ms!).some((v) => v.includes('vec4'))).toBe(false);
    // Persisted under adapter|class; a fresh memory (a new page or process) reads it back.
    const key = `${adapterKey(device)}|${shapeClass(shapes[0]!)}`;
    expect(saved.at(-1)![key]).toEqual(report[0]!.chosen);
    setMatmulTuneStore(fake);
    expect(tunedMatmulVariant(device, shapes[0]!)).toEqual(report[0]!.chosen);
    // Cached classes are not re-tuned.
    const again = await autotuneMatmul(gpu().ctx, [shapes[0]!], { reps: 1 });
    if (!/swiftshader/i.test(adapterKey(device))) expect(again[0]!.skipped).toBe('cached');
  });

  it('keys choices by adapter: another adapter’s choice is not used', () => {
    setMatmulTuneStore(undefined);
    const device = gpu().ctx.device;
    const shape: MatmulShape = { m: 100, k: 64, n: 64, transposeA: false, transposeB: true, bType: 'f32' };
    const other = { adapterInfo: { vendor: 'other', architecture: 'x', device: 'y', description: 'z' } };
    recordMatmulChoice(other as unknown as GPUDevice, shape, { kernel: 'vec4', sm: 16, sn: 16, tk: 16 });
    expect(tunedMatmulVariant(device, shape)).toBeUndefined();
    expect(Object.keys(matmulChoices())[0]).toMatch(/^other\/x\/y\/z\|a:bt:f32:m128:k64:n64:k4:n4$/);
  });

  it('persists in localStorage in the browser', () => {
    localStorage.removeItem('sparsebook.matmul-tune.v1');
    setMatmulTuneStore(localStorageStore());
    const shape: MatmulShape = { m: 8, k: 8, n: 8, transposeA: false, transposeB: false, bType: 'f32' };
    recordMatmulChoice(gpu().ctx.device, shape, { kernel: 'direct', wg: 64 });
    const stored = JSON.parse(localStorage.getItem('sparsebook.matmul-tune.v1')!) as Record<string, unknown>;
    expect(Object.values(stored)).toEqual([{ kernel: 'direct', wg: 64 }]);
    localStorage.removeItem('sparsebook.matmul-tune.v1');
  });

  it('records the distinct shapes a run dispatches', async () => {
    const x = gpu().tensor(randn(1, 8 * 12), [8, 12]);
    const w = gpu().tensor(randn(2, 16 * 12), [16, 12]);
    const shapes = await recordMatmulShapes(async () => {
      for (let i = 0; i < 3; i++) gpu().dispose(gpu().matmul(x, w, { transposeB: true }));
    });
    expect(shapes).toEqual([{ m: 8, k: 12, n: 16, transposeA: false, transposeB: true, bType: 'f32' }]);
    gpu().dispose(x, w);
  });
});

/**
 * The autotuned path through `Backend.matmul` on both backends: with every class of these shapes
 * forced to a vec4 choice on the GPU, results still match a test-written reference.
 */
describeBackends('matmul through the tuned choice', ({ b, kind }) => {
  afterEach(() => setMatmulTuneStore(localStorageStore()));
  it('matches a plain loop on edge-tile shapes', async () => {
    setMatmulTuneStore(undefined);
    for (const [m, k, n] of SHAPES) {
      const o = operands(m, k, n, 3 * m + n, false);
      if (kind === 'webgpu') {
        const device = (b() as unknown as { ctx: { device: GPUDevice } }).ctx.device;
        const shape: MatmulShape = { m, k, n, transposeA: false, transposeB: true, bType: 'f32' };
        recordMatmulChoice(device, shape, { kernel: 'vec4', sm: 8, sn: 8, tk: 16 });
        expect(chooseMatmul(device, shape).kernel).toBe('vec4');
      }
      const got = await product(b(), o, m, k, n, true, false);
      const want = new Float32Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += o.A[i * k + p]! * o.B[j * k + p]!;
          want[i * n + j] = s;
        }
      expectClose(got, want, TOL_REDUCTION, `[${m}, ${k}, ${n}]`);
    }
  });
});
