/**
 * bench/gpu-matmul: GFLOP/s of the WebGPU matmul kernels against the GPU's fp32 peak, through
 * Node and the `webgpu` package (Dawn). For each shape every kernel variant that fits is timed
 * (kernels/matmul-autotune.ts's candidates, forced), then the autotune's choice; prints one JSON
 * line with the adapter, the assumed peak, and per shape the best variant's GFLOP/s and its
 * fraction of the peak.
 *
 * Time per product: `--batch` dispatches submitted together, then one wait, best of `--reps`;
 * 2·M·N·K flops per product. The peak is an assumption given on the command line (default: the
 * H100 SXM's 67 TFLOP/s fp32 without tensor cores), printed with the numbers.
 *
 *   node --import ./cli/register.mjs bench/gpu-matmul.ts [--quick] [--peak-tflops 67] [--reps 5 --batch 20]
 */
import { parseArgs } from 'node:util';
import { nodeGpu } from '../cli/node-gpu';
import { MATMUL_CANDIDATES, autotuneMatmul } from '../kernels/matmul-autotune';
import {
  chooseMatmul,
  matmulGpu,
  matmulUnfit,
  type MatmulShape,
  type MatmulVariant,
} from '../kernels/matmul';
import { setMatmulTuneStore } from '../kernels/matmul-tune-cache';
import type { Tensor } from '../kernels/tensor';
import { createWebGpuBackend } from '../kernels/webgpu-backend';
import { bestMsPerCall, seededUniform } from './gpu-timing';

const { values: f } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'peak-tflops': { type: 'string', default: '67' },
    reps: { type: 'string' },
    batch: { type: 'string' },
  },
});
const quick = f.quick!;
const reps = Number(f.reps ?? (quick ? 2 : 5));
const batch = Number(f.batch ?? (quick ? 2 : 20));
const peakGflops = Number(f['peak-tflops']) * 1000;

/** [name, M, K, N] with b as a transposed weight [N, K] (the forward's layout). */
const SHAPES: [string, number, number, number][] = quick
  ? [
      ['quick_qkv', 64, 64, 192],
      ['quick_gemv', 1, 64, 256],
    ]
  : [
      ['gpt2_qkv_512', 512, 768, 2304],
      ['gpt2_mlp_up_512', 512, 768, 3072],
      ['gpt2_mlp_down_512', 512, 3072, 768],
      ['gpt2_head_512', 512, 768, 50257],
      ['square_4096', 4096, 4096, 4096],
      ['gemv_mlp_up', 1, 768, 3072],
    ];

setMatmulTuneStore(undefined); // measure, do not read or write the user's cache
const backend = await createWebGpuBackend(await nodeGpu());
const ctx = backend.ctx;
const info = (ctx.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
const result: Record<string, unknown> = {
  bench: 'gpu-matmul',
  adapter: backend.description,
  vendor: info?.vendor,
  architecture: info?.architecture,
  shader_f16: ctx.device.features.has('shader-f16'),
  assumed_peak_gflops: peakGflops,
  timing: `best of ${reps} batches of ${batch} products, queue drained per batch`,
};

/** ms per product of `v` (undefined: the dispatcher's own choice, i.e. the autotuned one). */
async function timeVariant(
  v: MatmulVariant | undefined,
  a: Tensor<'f32'>,
  b: Tensor<'f32'>,
): Promise<number> {
  return bestMsPerCall(
    () => ctx.release(matmulGpu(ctx, a, b, true, v)),
    () => ctx.sync(),
    reps,
    batch,
  );
}

const shapes: Record<string, unknown> = {};
for (const [name, m, k, n] of SHAPES) {
  const shape: MatmulShape = { m, k, n, transposeA: false, transposeB: true, bType: 'f32' };
  const a = backend.tensor(seededUniform(m * k, 1, 1 / Math.sqrt(k)), [m, k]);
  const b = backend.tensor(seededUniform(n * k, 2), [n, k]);
  const flops = 2 * m * n * k;
  const gflops = (ms: number) => +(flops / ms / 1e6).toPrecision(3);
  const variants: Record<string, number> = {};
  let best: { v: string; ms: number } | undefined;
  for (const v of MATMUL_CANDIDATES) {
    if (matmulUnfit(ctx.device, v, shape) !== undefined) continue;
    if (v.kernel === 'gemv' && m >= 64) continue;
    const ms = await timeVariant(v, a, b);
    const key = JSON.stringify(v);
    variants[key] = gflops(ms);
    if (!best || ms < best.ms) best = { v: key, ms };
  }
  await autotuneMatmul(ctx, [shape], { force: true, reps: 2 });
  const tuned = chooseMatmul(ctx.device, shape);
  const tunedMs = await timeVariant(undefined, a, b);
  shapes[name] = {
    m,
    k,
    n,
    best: best!.v,
    best_ms: +best!.ms.toFixed(3),
    best_gflops: gflops(best!.ms),
    best_fraction_of_peak: +(gflops(best!.ms) / peakGflops).toPrecision(3),
    autotuned: tuned,
    autotuned_gflops: gflops(tunedMs),
    gflops_by_variant: variants,
  };
  backend.dispose(a, b);
  console.error(`${name}: ${JSON.stringify(shapes[name])}`);
}
result.shapes = shapes;
backend.destroy();
console.log(JSON.stringify(result));
process.exit(0);
