/**
 * The kernel registry: every op with its CPU reference and WebGPU dispatcher, listed explicitly
 * (no side-effect registration). Tests iterate over `OPS` to make sure none is left untested.
 */
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
import { matmulCpu } from './matmul.cpu';
import { matmulGpu } from './matmul';
import { moeCombineCpu } from './moe-combine.cpu';
import { moeCombineGpu } from './moe-combine';
import { moeRouteCpu } from './moe-route.cpu';
import { moeRouteGpu } from './moe-route';
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
import { rmsnormCpu } from './rmsnorm.cpu';
import { layernormCpu } from './layernorm.cpu';
import { layernormGpu } from './layernorm';
import { activationCpu, gatedActivationCpu } from './activation.cpu';
import { activationGpu, gatedActivationGpu } from './activation';
import { softcapCpu } from './softcap.cpu';
import { softcapGpu } from './softcap';
import { rmsnormGpu } from './rmsnorm';
import { ropeCpu } from './rope.cpu';
import { ropeGpu } from './rope';
import { softmaxCpu } from './softmax.cpu';
import { softmaxGpu } from './softmax';
import { swigluCpu } from './swiglu.cpu';
import { swigluGpu } from './swiglu';
import { patternProbeCpu } from './pattern-probe.cpu';
import { patternProbeGpu } from './pattern-probe';
import { topkCpu } from './topk.cpu';
import { topkGpu } from './topk';
import { writeRowsCpu } from './write-rows.cpu';
import { writeRowsGpu } from './write-rows';
import { writeColumnsCpu } from './write-columns.cpu';
import { writeColumnsGpu } from './write-columns';

export const OPS = {
  activation: { cpu: activationCpu, webgpu: activationGpu },
  adamUpdate: { cpu: adamUpdateCpu, webgpu: adamUpdateGpu },
  add: { cpu: addCpu, webgpu: addGpu },
  applyMask: { cpu: applyMaskCpu, webgpu: applyMaskGpu },
  attention: { cpu: attentionCpu, webgpu: attentionGpu },
  attentionApply: { cpu: attentionApplyCpu, webgpu: attentionApplyGpu },
  embedding: { cpu: embeddingCpu, webgpu: embeddingGpu },
  gatedActivation: { cpu: gatedActivationCpu, webgpu: gatedActivationGpu },
  layernorm: { cpu: layernormCpu, webgpu: layernormGpu },
  matmul: { cpu: matmulCpu, webgpu: matmulGpu },
  moeCombine: { cpu: moeCombineCpu, webgpu: moeCombineGpu },
  moeRoute: { cpu: moeRouteCpu, webgpu: moeRouteGpu },
  normalizeRows: { cpu: normalizeRowsCpu, webgpu: normalizeRowsGpu },
  patternProbe: { cpu: patternProbeCpu, webgpu: patternProbeGpu },
  rmsnorm: { cpu: rmsnormCpu, webgpu: rmsnormGpu },
  rope: { cpu: ropeCpu, webgpu: ropeGpu },
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
} as const;

export type OpName = keyof typeof OPS;

export type {
  Backend,
  ActivationKind,
  RopeOptions,
  RopeScaling,
  AdamUpdateOptions,
  AdamUpdateResult,
  RowAffineOptions,
  SaeBackwardOptions,
  SaeBackwardResult,
  SaeDecoderGradOptions,
  SaeEncodeOptions,
  SaeEncodeResult,
  SaeReconStatsOptions,
  SaeReconStatsResult,
  AttentionOptions,
  AttentionResult,
  MoeRouteOptions,
  MoeRouteResult,
  PatternProbeOptions,
  PatternProbeResult,
  TopKResult,
} from './backend';
export { DeviceLostError, WebGpuUnavailableError } from './backend';
export { GpuLimitError, GpuValidationError, type GpuErrorFilter } from './gpu-errors';
export type { Tensor, DType, BackendKind } from './tensor';
export { createCpuBackend } from './cpu-backend';
export { createWebGpuBackend, WebGpuBackend } from './webgpu-backend';
