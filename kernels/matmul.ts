import type { FloatDType, Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { isCpuEmulated } from './device';
import { matmulShape } from './shapes';
import { checkMatmulBias } from './matmul.cpu';
import { specialize } from './wgsl';
import { weightFlags } from './weight-wgsl';
import source from './matmul.wgsl?raw';
import vec4Source from './matmul-vec4.wgsl?raw';
import { noteMatmulShape, tunedMatmulVariant } from './matmul-tune-cache';

/**
 * One of the matmul kernels with its compile-time sizes: `tiled`, `direct` and `gemv` in
 * matmul.wgsl; `vec4` in matmul-vec4.wgsl (vec4 global reads into shared-memory tiles; with `f16`
 * an f16 weight is read as vec4<f16>, which needs the device's `shader-f16`).
 */
export type MatmulVariant =
  | { kernel: 'tiled'; sm: number; sn: number; tk: number }
  | { kernel: 'direct'; wg: number }
  | { kernel: 'gemv'; wg: number }
  | { kernel: 'vec4'; sm: number; sn: number; tk: number; f16?: boolean };

/** What decides which kernels can run a product (everything but the data). */
export interface MatmulShape {
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
  bType: FloatDType;
}

/**
 * Why `variant` cannot run `shape` on `device`, or undefined when it can. The vec4 kernel needs
 * a [M, K] with K % 4 == 0 (and N % 4 == 0 when b is [K, N]), b in f32 or f16, and for `f16` an
 * f16 b and the `shader-f16` feature.
 */
export function matmulUnfit(
  device: GPUDevice,
  variant: MatmulVariant,
  shape: MatmulShape,
): string | undefined {
  if (variant.kernel !== 'vec4') return undefined;
  if (shape.transposeA) return 'vec4 matmul: a must not be transposed';
  if (shape.k % 4 !== 0 || shape.k === 0)
    return `vec4 matmul: K = ${shape.k} is not a positive multiple of 4`;
  if (!shape.transposeB && shape.n % 4 !== 0) return `vec4 matmul: N = ${shape.n} is not a multiple of 4`;
  if (shape.bType === 'bf16') return 'vec4 matmul: b must be f32 or f16, not bf16';
  if (variant.f16 && shape.bType !== 'f16') return `vec4 f16 matmul: b is ${shape.bType}, not f16`;
  if (variant.f16 && !device.features.has('shader-f16'))
    return 'vec4 f16 matmul: the device has no shader-f16 feature';
  if (variant.sm * variant.sn > device.limits.maxComputeInvocationsPerWorkgroup)
    return `vec4 matmul: ${variant.sm * variant.sn} threads per workgroup, over the device's limit`;
  if (variant.tk % 4 !== 0) return `vec4 matmul: TK = ${variant.tk} is not a multiple of 4`;
  if (variant.tk * (variant.sm + variant.sn) * 16 > device.limits.maxComputeWorkgroupStorageSize)
    return `vec4 matmul: ${variant.sm}×${variant.sn}×${variant.tk} tiles exceed the device's workgroup memory`;
  return undefined;
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
 * The kernel for `shape`: the autotuned choice for this adapter and the shape's class when one
 * was made (kernels/matmul-autotune.ts) and fits, else `matmulVariant`'s rule.
 */
export function chooseMatmul(device: GPUDevice, shape: MatmulShape): MatmulVariant {
  const tuned = tunedMatmulVariant(device, shape);
  if (tuned && matmulUnfit(device, tuned, shape) === undefined) return tuned;
  return matmulVariant(device, shape.m);
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
  const shape: MatmulShape = { m, k, n, transposeA, transposeB, bType };
  noteMatmulShape(shape);
  const v = variant ?? chooseMatmul(ctx.device, shape);
  const unfit = matmulUnfit(ctx.device, v, shape);
  if (unfit) throw new Error(unfit);
  const out = ctx.createTensor([m, n], 'f32');
  if (m === 0 || n === 0) return out;
  if (v.kernel === 'vec4') {
    const tilesN = Math.ceil(n / (4 * v.sn));
    const native = v.f16 === true;
    ctx.dispatch({
      key: `matmul:vec4:${transposeB ? 'bt' : 'b'}:${bType}${native ? ':native' : ''}:${v.sm}x${v.sn}x${v.tk}${bias ? ':bias' : ''}`,
      code: () =>
        specialize(
          vec4Source,
          { WG: v.sm * v.sn, SM: v.sm, SN: v.sn, TK: v.tk, TRANS_B: transposeB },
          { BIAS: bias !== undefined, F16_NATIVE: native, B_F32: bType === 'f32', B_F16: bType === 'f16' },
        ),
      tensors: bias ? [a, b, out, bias] : [a, b, out],
      uniforms: [{ u32: m }, { u32: n }, { u32: k }, { u32: tilesN }],
      workgroups: grid(Math.ceil(m / (4 * v.sm)) * tilesN),
    });
    return out;
  }
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
