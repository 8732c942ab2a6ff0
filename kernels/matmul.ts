import type { FloatDType, Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { matmulShape } from './shapes';
import { checkMatmulBias } from './matmul.cpu';
import { specialize } from './wgsl';
import { weightFlags } from './weight-wgsl';
import source from './matmul.wgsl?raw';

/** One of the kernels in matmul.wgsl, with its compile-time sizes. */
export type MatmulVariant =
  | { kernel: 'tiled'; sm: number; sn: number; tk: number }
  | { kernel: 'direct'; wg: number }
  | { kernel: 'gemv'; wg: number };

const emulated = new WeakMap<GPUDevice, boolean>();

/**
 * Whether the adapter is a CPU emulation (SwiftShader, llvmpipe/lavapipe, WARP). There every
 * workgroup barrier is a coroutine switch per SIMD group, so the shared-memory kernel, the right
 * one on real GPUs, runs 3–4× slower than the barrier-free one.
 */
function isCpuEmulated(device: GPUDevice): boolean {
  let e = emulated.get(device);
  if (e === undefined) {
    const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const name = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.device ?? ''} ${info?.description ?? ''}`;
    e = info?.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|\bwarp\b/i.test(name);
    emulated.set(device, e);
  }
  return e;
}

/**
 * The kernel for a shape on this device: gemv when M < 4 (generation, T = 1: no rows wasted in
 * 4-row blocks); otherwise the shared-memory tiled kernel, or on a CPU emulation the barrier-free
 * direct kernel.
 *
 * SwiftShader in headless Chromium, ms per call (best of 5 rounds, 2 busy cores):
 *
 * | shape                 | tiled 8×8 tk32 | tiled 4×4 tk64 | direct | gemv |
 * |-----------------------|---------------:|---------------:|-------:|-----:|
 * | [512,64]×[64,64]ᵀ     |           10.4 |           10.5 |    2.7 |  5.9 |
 * | [512,64]×[172,64]ᵀ    |           29.1 |           16.0 |    9.0 | 11.8 |
 * | [512,172]×[64,172]ᵀ   |            9.0 |           10.4 |    4.3 |  8.6 |
 * | [512,64]×[512,64]ᵀ    |           39.7 |           43.6 |   13.8 | 26.4 |
 * | [1,64]×[512,64]ᵀ      |            5.7 |            2.0 |    0.9 |  0.8 |
 * | [512,64]×[64,64]      |            8.3 |            6.5 |    2.2 |  7.7 |
 */
export function matmulVariant(device: GPUDevice, m: number): MatmulVariant {
  if (m < 4) return { kernel: 'gemv', wg: 64 };
  if (isCpuEmulated(device)) return { kernel: 'direct', wg: 64 };
  return { kernel: 'tiled', sm: 8, sn: 8, tk: 32 };
}

/**
 * WebGPU dispatcher of `matmul`, with an optional bias [N] added to every row in the kernels'
 * epilogue (a separate pipeline, so the bias-free kernels are unchanged); `variant` overrides the
 * choice (tests, benchmarks). b may be a 16-bit weight (f16 / bf16), decoded as it is read.
 */
export function matmulGpu(
  ctx: GpuContext,
  a: Tensor<'f32'>,
  b: Tensor<FloatDType>,
  transposeB: boolean,
  variant?: MatmulVariant,
  transposeA = false,
  bias?: Tensor<'f32'>,
): Tensor<'f32'> {
  const { m, k, n } = matmulShape(a.shape, b.shape, transposeB, transposeA);
  checkMatmulBias(bias, n);
  for (const t of [a, bias]) if (t) assertDType(gpu(t), 'f32', 'matmul');
  const bType = gpu(b).dtype;
  if (bType !== 'f32' && bType !== 'f16' && bType !== 'bf16')
    throw new Error(`matmul: b must be f32, f16 or bf16, got ${String(bType)}`);
  const out = ctx.createTensor([m, n], 'f32');
  if (m === 0 || n === 0) return out;
  const v = variant ?? matmulVariant(ctx.device, m);
  let consts: { WG: number; SM: number; SN: number; TK: number };
  let tilesN = 0;
  let groups: number;
  if (v.kernel === 'tiled') {
    consts = { WG: v.sm * v.sn, SM: v.sm, SN: v.sn, TK: v.tk };
    tilesN = Math.ceil(n / (4 * v.sn));
    groups = Math.ceil(m / (4 * v.sm)) * tilesN;
  } else {
    consts = { WG: v.wg, SM: 1, SN: 1, TK: 1 };
    const rowBlocks = v.kernel === 'direct' ? Math.ceil(m / 4) : m;
    groups = Math.ceil((rowBlocks * Math.ceil(n / 4)) / v.wg);
  }
  ctx.dispatch({
    key: `matmul:${transposeA ? 'at' : 'a'}:${transposeB ? 'bt' : 'b'}:${bType}:${v.kernel}:${consts.WG}:${consts.SM}x${consts.SN}x${consts.TK}${bias ? ':bias' : ''}`,
    code: () =>
      specialize(
        source,
        { ...consts, TRANS_A: transposeA, TRANS_B: transposeB },
        {
          BIAS: bias !== undefined,
          TILED: v.kernel === 'tiled',
          DIRECT: v.kernel === 'direct',
          GEMV: v.kernel === 'gemv',
          ...weightFlags('B', bType),
        },
      ),
    tensors: bias ? [a, b, out, bias] : [a, b, out],
    uniforms: [{ u32: m }, { u32: n }, { u32: k }, { u32: tilesN }],
    workgroups: grid(groups),
  });
  return out;
}
