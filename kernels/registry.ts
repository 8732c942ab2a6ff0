/**
 * The kernel registry, written once: every op with its CPU reference and its WebGPU dispatcher,
 * both with the `Backend` method's signature (the WebGPU one takes the GPU context first). Both
 * backends are built from it (cpu-backend.ts, webgpu-backend.ts), so an op added here is an op of
 * both; tests iterate over it. Listed explicitly (no side-effect registration).
 */
import type { Backend } from './backend';
import type { GpuContext } from './gpu-context';
import { activationCpu, gatedActivationCpu } from './activation.cpu';
import { activationGpu, gatedActivationGpu } from './activation';
import { adamUpdateCpu } from './adam.cpu';
import { adamUpdateGpu } from './adam';
import { addCpu } from './add.cpu';
import { addGpu } from './add';
import { applyMaskCpu } from './apply-mask.cpu';
import { applyMaskGpu } from './apply-mask';
import { attentionApplyCpu, attentionCpu } from './attention.cpu';
import { attentionApplyGpu, attentionGpu } from './attention';
import { embeddingCpu } from './embedding.cpu';
import { embeddingGpu } from './embedding';
import { layernormCpu } from './layernorm.cpu';
import { layernormGpu } from './layernorm';
import { matmulCpu } from './matmul.cpu';
import { matmulGpu } from './matmul';
import { moeCombineCpu } from './moe-combine.cpu';
import { moeCombineGpu } from './moe-combine';
import { moeRouteCpu } from './moe-route.cpu';
import { moeRouteGpu } from './moe-route';
import { patternProbeCpu } from './pattern-probe.cpu';
import { patternProbeGpu } from './pattern-probe';
import { rmsnormCpu } from './rmsnorm.cpu';
import { rmsnormGpu } from './rmsnorm';
import { ropeCpu } from './rope.cpu';
import { ropeGpu } from './rope';
import { rowAffineCpu } from './row-affine.cpu';
import { rowAffineGpu } from './row-affine';
import { saeBackwardCpu } from './sae-backward.cpu';
import { saeBackwardGpu } from './sae-backward';
import { normalizeRowsCpu, saeDecoderGradCpu } from './sae-decoder.cpu';
import { normalizeRowsGpu, saeDecoderGradGpu } from './sae-decoder';
import { saeAuxLatentsCpu, saeEncodeCpu } from './sae-encode.cpu';
import { saeAuxLatentsGpu, saeEncodeGpu } from './sae-encode';
import { saeReconStatsCpu } from './sae-recon-stats.cpu';
import { saeReconStatsGpu } from './sae-recon-stats';
import { softcapCpu } from './softcap.cpu';
import { softcapGpu } from './softcap';
import { softmaxCpu } from './softmax.cpu';
import { softmaxGpu } from './softmax';
import { swigluCpu } from './swiglu.cpu';
import { swigluGpu } from './swiglu';
import { topkCpu } from './topk.cpu';
import { topkGpu } from './topk';
import { writeColumnsCpu } from './write-columns.cpu';
import { writeColumnsGpu } from './write-columns';
import { writeRowsCpu } from './write-rows.cpu';
import { writeRowsGpu } from './write-rows';

/** The kernel methods of `Backend`, in registry order. */
export const OP_NAMES = [
  'activation',
  'adamUpdate',
  'add',
  'applyMask',
  'attention',
  'attentionApply',
  'embedding',
  'gatedActivation',
  'layernorm',
  'matmul',
  'moeCombine',
  'moeRoute',
  'normalizeRows',
  'patternProbe',
  'rmsnorm',
  'rope',
  'rowAffine',
  'saeAuxLatents',
  'saeBackward',
  'saeDecoderGrad',
  'saeEncode',
  'saeReconStats',
  'softcap',
  'softmax',
  'swiglu',
  'topk',
  'writeColumns',
  'writeRows',
] as const satisfies readonly (keyof Backend)[];

export type OpName = (typeof OP_NAMES)[number];

/** The kernel methods every backend has. */
export type KernelMethods = Pick<Backend, OpName>;

/** One op: the CPU method itself, and the WebGPU dispatcher taking the context first. */
export interface KernelOp<F extends (...args: never[]) => unknown> {
  readonly cpu: F;
  readonly webgpu: (ctx: GpuContext, ...args: Parameters<F>) => ReturnType<F>;
}

export type KernelRegistry = { readonly [K in OpName]: KernelOp<KernelMethods[K]> };

export const OPS: KernelRegistry = {
  activation: { cpu: activationCpu, webgpu: activationGpu },
  adamUpdate: { cpu: adamUpdateCpu, webgpu: adamUpdateGpu },
  add: { cpu: addCpu, webgpu: addGpu },
  applyMask: { cpu: applyMaskCpu, webgpu: applyMaskGpu },
  attention: { cpu: attentionCpu, webgpu: attentionGpu },
  attentionApply: { cpu: attentionApplyCpu, webgpu: attentionApplyGpu },
  embedding: { cpu: embeddingCpu, webgpu: embeddingGpu },
  gatedActivation: { cpu: gatedActivationCpu, webgpu: gatedActivationGpu },
  layernorm: { cpu: layernormCpu, webgpu: layernormGpu },
  matmul: {
    cpu: (a, b, o) => matmulCpu(a, b, o?.transposeB ?? false, o?.transposeA ?? false, o?.bias),
    webgpu: (ctx, a, b, o) =>
      matmulGpu(ctx, a, b, o?.transposeB ?? false, undefined, o?.transposeA ?? false, o?.bias),
  },
  moeCombine: { cpu: moeCombineCpu, webgpu: moeCombineGpu },
  moeRoute: { cpu: moeRouteCpu, webgpu: moeRouteGpu },
  normalizeRows: { cpu: normalizeRowsCpu, webgpu: normalizeRowsGpu },
  patternProbe: { cpu: patternProbeCpu, webgpu: (ctx, probs, o) => patternProbeGpu(ctx, probs, o) },
  rmsnorm: {
    cpu: rmsnormCpu,
    webgpu: (ctx, x, weight, eps, o) => rmsnormGpu(ctx, x, weight, eps, undefined, o?.groupSize),
  },
  rope: { cpu: (x, o) => ropeCpu(x, o), webgpu: ropeGpu },
  rowAffine: { cpu: rowAffineCpu, webgpu: rowAffineGpu },
  saeAuxLatents: { cpu: saeAuxLatentsCpu, webgpu: saeAuxLatentsGpu },
  saeBackward: { cpu: saeBackwardCpu, webgpu: saeBackwardGpu },
  saeDecoderGrad: { cpu: saeDecoderGradCpu, webgpu: saeDecoderGradGpu },
  saeEncode: { cpu: saeEncodeCpu, webgpu: saeEncodeGpu },
  saeReconStats: { cpu: saeReconStatsCpu, webgpu: saeReconStatsGpu },
  softcap: { cpu: softcapCpu, webgpu: softcapGpu },
  softmax: { cpu: softmaxCpu, webgpu: softmaxGpu },
  swiglu: { cpu: swigluCpu, webgpu: swigluGpu },
  topk: { cpu: topkCpu, webgpu: topkGpu },
  writeColumns: { cpu: writeColumnsCpu, webgpu: writeColumnsGpu },
  writeRows: { cpu: writeRowsCpu, webgpu: writeRowsGpu },
};

/**
 * The CPU backend's kernel methods: the registry's CPU functions.
 *
 * @example
 * const b: Backend = { kind: 'cpu', …, ...cpuKernels() };
 */
export function cpuKernels(): KernelMethods {
  return Object.fromEntries(OP_NAMES.map((n) => [n, OPS[n].cpu])) as unknown as KernelMethods;
}

/**
 * Install the WebGPU kernel methods on a backend class's prototype: each calls the registry's
 * dispatcher with the instance's `ctx`.
 */
export function installGpuKernels(proto: { ctx: GpuContext }): void {
  for (const name of OP_NAMES) {
    const dispatch = OPS[name].webgpu as (ctx: GpuContext, ...args: unknown[]) => unknown;
    Object.defineProperty(proto, name, {
      value: function (this: { ctx: GpuContext }, ...args: unknown[]) {
        return dispatch(this.ctx, ...args);
      },
      writable: true,
      configurable: true,
    });
  }
}
