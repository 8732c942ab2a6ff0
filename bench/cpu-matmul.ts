/**
 * bench/cpu-matmul: the CPU backend's WebAssembly SIMD matmul against this machine's measured
 * WebAssembly SIMD peak, the TypeScript reference kernel, and onnxruntime-web's wasm EP (a graph
 * of one MatMul + Add on a constant weight) at the same thread count, in one process, on the
 * shapes of a forward pass of stories260K and of GPT-2 small (512 tokens; plus one decode row).
 *
 * The peak: `peakLoop` (kernels/wasm/assembly/matmul.ts), 12 independent f32x4 multiply-add
 * chains, best of 5 runs of 2·10⁷ iterations after a warm-up, repeated before every shape and
 * at the end (the best kept: a busy moment on a shared machine is not the peak), on one thread; the T-thread peak is
 * T times that (each core has its own units). Measured both ways: relaxed SIMD's fused
 * multiply-add (what the kernels use where the engine has it; the `_over_peak` ratios use it) and
 * plain SIMD's multiply + add. `wasm_1t_over_peak_paired` pairs each timed matmul rep with a short
 * peak run just before it (the same load) and reports the median pair's ratio: on a shared machine
 * the fairest single number.
 *
 * 16-bit weights: the same products with W as bf16 and as f16 bits (the kernels keep them packed
 * as 16-bit and widen a slice at a time), at the T-thread count, as ratios to the f32 weight:
 * `bf16_over_f32` > 1 means the 16-bit weight is faster (less memory to stream).
 *
 * Best of --reps interleaved runs per engine and shape; prints one JSON line.
 *
 *   node --import ./cli/register.mjs bench/cpu-matmul.ts [--threads 2 --reps 5 --ts-max-gflop 3]
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { CpuTensor, cpu, f32 } from '../kernels/cpu-tensor';
import { f32ToBf16Bits, f32ToF16Bits } from '../runtime/formats/safetensors-dtypes';
import { matmulCpu } from '../kernels/matmul.cpu';
import { loadWasmKernels } from '../kernels/wasm/wasm-kernels';
import { DataType, encodeModel } from '../tools/onnx/proto';
import { randn } from '../test/kernels/harness';

const { values: f } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    reps: { type: 'string', default: '5' },
    // The TypeScript kernel runs about 1.5 GFLOP/s: shapes above this many GFLOP skip it.
    'ts-max-gflop': { type: 'string', default: '1.5' },
  },
});
const threads = Number(f.threads);
const reps = Number(f.reps);

/** [name, M, K, N, bias]: b is a weight [N, K] (transposeB), as in every linear layer. */
const SHAPES: [string, number, number, number, boolean][] = [
  ['stories260K.wq', 512, 64, 64, false],
  ['stories260K.w1', 512, 64, 172, false],
  ['stories260K.w2', 512, 172, 64, false],
  ['stories260K.cls', 512, 64, 512, false],
  ['gpt2.c_attn', 512, 768, 2304, true],
  ['gpt2.c_proj', 512, 768, 768, true],
  ['gpt2.c_fc', 512, 768, 3072, true],
  ['gpt2.mlp_proj', 512, 3072, 768, true],
  ['gpt2.c_fc.decode', 1, 768, 3072, true],
];

/** ONNX graph y = x · Wᵀ + bias with W a constant (ORT pre-packs it, as we pack weights). */
function matmulGraph(m: number, k: number, n: number, wT: Float32Array, bias: Float32Array): Uint8Array {
  return encodeModel({
    name: 'matmul',
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['xw'], name: 'mm' },
      { op: 'Add', inputs: ['xw', 'bias'], outputs: ['y'], name: 'add' },
    ],
    initializers: [
      { name: 'w', dims: [k, n], type: DataType.FLOAT, data: wT },
      { name: 'bias', dims: [n], type: DataType.FLOAT, data: bias },
    ],
    inputs: [{ name: 'x', type: DataType.FLOAT, dims: [m, k] }],
    outputs: [{ name: 'y', type: DataType.FLOAT, dims: [m, n] }],
  });
}

function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

/** Best ms of `reps` timed calls, each repeated until it takes ≥ 20 ms (after one warm-up call). */
async function best(fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn();
  let ms = Infinity;
  for (let r = 0; r < reps; r++) {
    let calls = 0;
    const t0 = performance.now();
    let el = 0;
    do {
      await fn();
      calls++;
      el = performance.now() - t0;
    } while (el < 20);
    ms = Math.min(ms, el / calls);
  }
  return ms;
}

/** One timed rep of fn: ms per call over ≥ 20 ms of calls. */
function rep(fn: () => unknown): number {
  let calls = 0;
  const t0 = performance.now();
  let el = 0;
  do {
    fn();
    calls++;
    el = performance.now() - t0;
  } while (el < 20);
  return el / calls;
}

/**
 * The 1-thread matmul's share of the peak, paired: each rep times the peak loop (a short run)
 * and then the matmul back to back, so both see the same load on this shared machine; the median
 * of the pairs' ratios.
 */
function pairedPeakShare(fn: () => unknown, flop: number): number {
  fn();
  const ratios: number[] = [];
  for (let r = 0; r < reps * 2 + 1; r++) {
    const peak = wasm1.measurePeak(wasm1.relaxed, 1, 2_000_000);
    ratios.push(flop / rep(fn) / 1e6 / peak);
  }
  return ratios.sort((x, y) => x - y)[reps]!;
}

const wasm1 = (await loadWasmKernels({ threads: 1 }))!;
const wasmT = threads > 1 ? (await loadWasmKernels({ threads }))! : wasm1;
if (wasmT.threads !== threads) throw new Error(`asked for ${threads} threads, the pool has ${wasmT.threads}`);
ort.env.wasm.numThreads = threads;
// The peaks are re-measured before every shape and the best kept: on a shared machine one
// measurement may land on a busy moment, and a peak is what the core can do when it is free.
let peak1 = 0;
let peakMulAdd = 0;
function measurePeaks(): void {
  peak1 = Math.max(peak1, wasm1.measurePeak(wasm1.relaxed));
  peakMulAdd = Math.max(peakMulAdd, wasm1.measurePeak(false));
}

const rows: Record<string, unknown>[] = [];
let maxDiff = 0;
const timed: {
  name: string;
  m: number;
  k: number;
  n: number;
  flop: number;
  ms1: number;
  share1: number;
  msT: number;
  msOrt: number;
  msTs: number | null;
  msBf16: number;
  msF16: number;
}[] = [];
for (const [name, m, k, n, hasBias] of SHAPES) {
  measurePeaks();
  const flop = 2 * m * n * k;
  const A = f32(randn(1, m * k, 1 / Math.sqrt(k)), [m, k]);
  const W = f32(randn(2, n * k), [n, k]);
  const biasData = hasBias ? randn(3, n) : new Float32Array(n);
  const bias = hasBias ? f32(biasData, [n]) : undefined;
  wasm1.markWeight(W);
  if (wasmT !== wasm1) wasmT.markWeight(W);
  const session = await ort.InferenceSession.create(
    matmulGraph(m, k, n, transposed(W.data, n, k), biasData),
    {
      executionProviders: ['wasm'],
    },
  );
  const feeds = { x: new ort.Tensor('float32', A.data, [m, k]) };
  const ours = cpu(wasmT.matmul(A, W, true, false, bias)).data;
  const theirs = (await session.run(feeds)).y!.data as Float32Array;
  for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!));
  const ms1 = await best(() => wasm1.matmul(A, W, true, false, bias));
  const share1 = pairedPeakShare(() => wasm1.matmul(A, W, true, false, bias), flop);
  const msT = threads > 1 ? await best(() => wasmT.matmul(A, W, true, false, bias)) : ms1;
  const msOrt = await best(() => session.run(feeds));
  const msTs =
    flop / 1e9 <= Number(f['ts-max-gflop']) ? await best(() => matmulCpu(A, W, true, false, bias)) : null;
  await session.release();
  const W16 = (dtype: 'bf16' | 'f16') => {
    const bits = Uint16Array.from(W.data, dtype === 'bf16' ? f32ToBf16Bits : f32ToF16Bits);
    const t = new CpuTensor(bits, [n, k], dtype);
    wasmT.markWeight(t);
    return t;
  };
  const Wbf16 = W16('bf16');
  const Wf16 = W16('f16');
  const msBf16 = await best(() => wasmT.matmul(A, Wbf16, true, false, bias));
  const msF16 = await best(() => wasmT.matmul(A, Wf16, true, false, bias));
  for (const t of [W, Wbf16, Wf16]) {
    wasmT.forget(t);
    wasm1.forget(t);
  }
  timed.push({ name, m, k, n, flop, ms1, share1, msT, msOrt, msTs, msBf16, msF16 });
}
measurePeaks();
for (const { name, m, k, n, flop, ms1, share1, msT, msOrt, msTs, msBf16, msF16 } of timed) {
  const gf = (ms: number) => +(flop / ms / 1e6).toFixed(2);
  rows.push({
    shape: name,
    mkn: [m, k, n],
    gflops_wasm_1t: gf(ms1),
    [`gflops_wasm_${threads}t`]: gf(msT),
    [`gflops_ort_${threads}t`]: gf(msOrt),
    gflops_ts: msTs === null ? null : gf(msTs),
    wasm_1t_over_peak: +(gf(ms1) / peak1).toFixed(3),
    wasm_1t_over_peak_paired: +share1.toFixed(3),
    [`wasm_${threads}t_over_peak`]: +(gf(msT) / (peak1 * threads)).toFixed(3),
    wasm_over_ort: +(msOrt / msT).toFixed(3),
    wasm_over_ts: msTs === null ? null : +(msTs / ms1).toFixed(2),
    [`gflops_wasm_bf16_${threads}t`]: gf(msBf16),
    [`gflops_wasm_f16_${threads}t`]: gf(msF16),
    bf16_over_f32: +(msT / msBf16).toFixed(3),
    f16_over_f32: +(msT / msF16).toFixed(3),
  });
}
wasm1.destroy();
wasmT.destroy();
console.log(
  JSON.stringify({
    bench: 'cpu-matmul',
    threads,
    kernels: wasmT.description,
    peak_gflops_1t: +peak1.toFixed(2),
    peak_mul_add_gflops_1t: +peakMulAdd.toFixed(2),
    peak_method: `wasm peakLoop: 12 independent f32x4 ${wasm1.relaxed ? 'relaxed_madd (FMA)' : 'mul+add'} chains, best of 5 × 2e7 iterations before each shape and at the end, best kept, 1 thread`,
    max_abs_diff_vs_ort: maxDiff,
    shapes: rows,
  }),
);
process.exit(0);
