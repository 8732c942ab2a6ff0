import type { Backend } from './backend';
import type { AnyTypedArray, DType, Tensor } from './tensor';
import { sizeOf } from './tensor';
import { CpuTensor, cpu } from './cpu-tensor';
import { addCpu } from './add.cpu';
import { applyMaskCpu } from './apply-mask.cpu';
import { attentionApplyCpu, attentionCpu } from './attention.cpu';
import { embeddingCpu } from './embedding.cpu';
import { matmulCpu } from './matmul.cpu';
import { moeCombineCpu } from './moe-combine.cpu';
import { moeRouteCpu } from './moe-route.cpu';
import { rmsnormCpu } from './rmsnorm.cpu';
import { layernormCpu } from './layernorm.cpu';
import { activationCpu, gatedActivationCpu } from './activation.cpu';
import { softcapCpu } from './softcap.cpu';
import { ropeCpu } from './rope.cpu';
import { softmaxCpu } from './softmax.cpu';
import { swigluCpu } from './swiglu.cpu';
import { topkCpu } from './topk.cpu';
import { patternProbeCpu } from './pattern-probe.cpu';
import { writeRowsCpu } from './write-rows.cpu';
import { writeColumnsCpu } from './write-columns.cpu';
import { isHalf, isHalfDType, type WeightArray } from './weight-dtype';
import { adamUpdateCpu } from './adam.cpu';
import { rowAffineCpu } from './row-affine.cpu';
import { saeBackwardCpu } from './sae-backward.cpu';
import { normalizeRowsCpu, saeDecoderGradCpu } from './sae-decoder.cpu';
import { saeAuxLatentsCpu, saeEncodeCpu } from './sae-encode.cpu';
import { saeReconStatsCpu } from './sae-recon-stats.cpu';

/** The CPU backend: plain TypedArray references. Deterministic, synchronous, the ground truth. */
export function createCpuBackend(): Backend {
  return {
    kind: 'cpu',
    description: 'CPU (JavaScript reference kernels)',
    weightPrecision: { storage: 'as stored', shaderF16: false },
    maxTensorBytes: Infinity,
    tensor(data: AnyTypedArray, shape: readonly number[]) {
      return new CpuTensor(data.slice(), shape);
    },
    // The array becomes the tensor: the caller handed it over (no copy, no second allocation).
    adoptTensor(data: AnyTypedArray, shape: readonly number[]) {
      return new CpuTensor(data, shape);
    },
    // 16-bit weights keep their bits (adopted: the array itself, else a copy); decoded in the kernels.
    weightTensor(data: WeightArray, shape: readonly number[], opts?: { adopt?: boolean }) {
      if (!isHalf(data)) return new CpuTensor(opts?.adopt ? data : data.slice(), shape);
      return new CpuTensor(opts?.adopt ? data.bits : data.bits.slice(), shape, data.dtype);
    },
    zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
      const n = sizeOf(shape);
      if (isHalfDType(dtype)) return new CpuTensor(new Uint16Array(n), shape, dtype);
      return new CpuTensor(dtype === 'f32' ? new Float32Array(n) : new Int32Array(n), shape);
    },
    read(t) {
      return Promise.resolve(cpu(t).data.slice()) as never;
    },
    dispose() {},
    sync: () => Promise.resolve(),
    destroy() {},
    matmul: (a, b, o) => matmulCpu(a, b, o?.transposeB ?? false, o?.transposeA ?? false, o?.bias),
    rmsnorm: rmsnormCpu,
    layernorm: layernormCpu,
    rope: (x, o) => ropeCpu(x, o),
    activation: activationCpu,
    gatedActivation: gatedActivationCpu,
    softcap: softcapCpu,
    attention: attentionCpu,
    attentionApply: attentionApplyCpu,
    softmax: softmaxCpu,
    swiglu: swigluCpu,
    embedding: embeddingCpu,
    add: addCpu,
    applyMask: applyMaskCpu,
    topk: topkCpu,
    writeRows: writeRowsCpu,
    writeColumns: writeColumnsCpu,
    moeRoute: moeRouteCpu,
    moeCombine: moeCombineCpu,
    patternProbe: patternProbeCpu,
    saeEncode: saeEncodeCpu,
    saeAuxLatents: saeAuxLatentsCpu,
    rowAffine: rowAffineCpu,
    saeReconStats: saeReconStatsCpu,
    saeBackward: saeBackwardCpu,
    saeDecoderGrad: saeDecoderGradCpu,
    normalizeRows: normalizeRowsCpu,
    adamUpdate: adamUpdateCpu,
  } as Backend;
}
