import type {
  ActivationKind,
  AttentionOptions,
  AttentionResult,
  Backend,
  MoeRouteOptions,
  MoeRouteResult,
  PatternProbeOptions,
  PatternProbeResult,
  RopeOptions,
  TopKResult,
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
  WeightPrecision,
} from './backend';
import type { AnyTypedArray, DType, FloatDType, Tensor, TypedArrayFor } from './tensor';
import { isHalf, type WeightArray } from './weight-dtype';
import { writeColumnsGpu } from './write-columns';
import { dtypeOf, sizeOf } from './tensor';
import { acquireDevice } from './device';
import { GpuContext } from './gpu-context';
import { addGpu } from './add';
import { applyMaskGpu } from './apply-mask';
import { attentionApplyGpu, attentionGpu } from './attention';
import { embeddingGpu } from './embedding';
import { matmulGpu } from './matmul';
import { moeCombineGpu } from './moe-combine';
import { moeRouteGpu } from './moe-route';
import { rmsnormGpu } from './rmsnorm';
import { layernormGpu } from './layernorm';
import { activationGpu, gatedActivationGpu } from './activation';
import { softcapGpu } from './softcap';
import { ropeGpu } from './rope';
import { softmaxGpu } from './softmax';
import { swigluGpu } from './swiglu';
import { topkGpu } from './topk';
import { patternProbeGpu } from './pattern-probe';
import { writeRowsGpu } from './write-rows';
import { adamUpdateGpu } from './adam';
import { rowAffineGpu } from './row-affine';
import { saeBackwardGpu } from './sae-backward';
import { normalizeRowsGpu, saeDecoderGradGpu } from './sae-decoder';
import { saeAuxLatentsGpu, saeEncodeGpu } from './sae-encode';
import { saeReconStatsGpu } from './sae-recon-stats';

/** The WebGPU backend. `ctx` is exposed for tests (error scopes, leak counts) and benchmarks. */
export class WebGpuBackend implements Backend {
  readonly kind = 'webgpu' as const;

  constructor(
    readonly ctx: GpuContext,
    readonly description: string,
  ) {}

  tensor(data: Float32Array, shape: readonly number[]): Tensor<'f32'>;
  tensor(data: Int32Array, shape: readonly number[]): Tensor<'i32'>;
  tensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[]): Tensor<D>;
  tensor(data: AnyTypedArray, shape: readonly number[]): Tensor;
  tensor(data: AnyTypedArray, shape: readonly number[]): Tensor {
    const n = sizeOf(shape);
    if (data.length !== n) {
      throw new Error(`tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
    }
    return this.ctx.upload(data, shape, dtypeOf(data));
  }

  adoptTensor(data: Float32Array, shape: readonly number[]): Tensor<'f32'>;
  adoptTensor(data: Int32Array, shape: readonly number[]): Tensor<'i32'>;
  adoptTensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[]): Tensor<D>;
  adoptTensor(data: AnyTypedArray, shape: readonly number[]): Tensor;
  /** Uploads like `tensor` (queue.writeBuffer copies now); the caller drops its host array. */
  adoptTensor(data: AnyTypedArray, shape: readonly number[]): Tensor {
    return this.tensor(data, shape);
  }

  /** A 16-bit weight is uploaded as its bits (two to a word); `adopt` changes nothing here. */
  weightTensor(data: WeightArray, shape: readonly number[]): Tensor<FloatDType> {
    if (!isHalf(data)) return this.tensor(data, shape);
    const n = sizeOf(shape);
    if (data.bits.length !== n) {
      throw new Error(`tensor data has ${data.bits.length} elements but shape [${shape.join(', ')}] needs ${n}`);
    }
    return this.ctx.uploadHalf(data.bits, shape, data.dtype);
  }

  /** The largest binding: a kernel reads a tensor through one. */
  get maxTensorBytes(): number {
    const { maxStorageBufferBindingSize, maxBufferSize } = this.ctx.limits;
    return Math.min(maxStorageBufferBindingSize, maxBufferSize);
  }

  /** Weights as stored; whether the device has shader-f16 (requested when the adapter offers it). */
  get weightPrecision(): WeightPrecision {
    return { storage: 'as stored', shaderF16: this.ctx.device.features.has('shader-f16') };
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    return this.ctx.zeros(shape, dtype);
  }

  read<D extends DType>(t: Tensor<D>): Promise<TypedArrayFor<D>> {
    return this.ctx.read(t);
  }

  dispose(...ts: (Tensor | undefined)[]): void {
    for (const t of ts) if (t) this.ctx.release(t);
  }

  sync(): Promise<void> {
    return this.ctx.sync();
  }

  destroy(): void {
    this.ctx.destroy();
  }

  matmul(
    a: Tensor<'f32'>,
    b: Tensor<FloatDType>,
    opts?: { transposeA?: boolean; transposeB?: boolean; bias?: Tensor<'f32'> },
  ): Tensor<'f32'> {
    return matmulGpu(
      this.ctx,
      a,
      b,
      opts?.transposeB ?? false,
      undefined,
      opts?.transposeA ?? false,
      opts?.bias,
    );
  }
  rmsnorm(
    x: Tensor<'f32'>,
    weight: Tensor<'f32'>,
    eps: number,
    opts?: { groupSize?: number },
  ): Tensor<'f32'> {
    return rmsnormGpu(this.ctx, x, weight, eps, undefined, opts?.groupSize);
  }
  layernorm(
    x: Tensor<'f32'>,
    weight: Tensor<'f32'>,
    bias: Tensor<'f32'> | undefined,
    eps: number,
  ): Tensor<'f32'> {
    return layernormGpu(this.ctx, x, weight, bias, eps);
  }
  rope(x: Tensor<'f32'>, o: RopeOptions): Tensor<'f32'> {
    return ropeGpu(this.ctx, x, o);
  }
  activation(x: Tensor<'f32'>, kind: ActivationKind): Tensor<'f32'> {
    return activationGpu(this.ctx, x, kind);
  }
  gatedActivation(gate: Tensor<'f32'>, up: Tensor<'f32'>, kind: ActivationKind): Tensor<'f32'> {
    return gatedActivationGpu(this.ctx, gate, up, kind);
  }
  softcap(x: Tensor<'f32'>, cap: number): Tensor<'f32'> {
    return softcapGpu(this.ctx, x, cap);
  }
  attention(q: Tensor<'f32'>, k: Tensor<'f32'>, v: Tensor<'f32'>, o: AttentionOptions): AttentionResult {
    return attentionGpu(this.ctx, q, k, v, o);
  }
  attentionApply(
    probs: Tensor<'f32'>,
    v: Tensor<'f32'>,
    o: { nHeads: number; nKvHeads: number; headDim: number },
  ): Tensor<'f32'> {
    return attentionApplyGpu(this.ctx, probs, v, o);
  }
  softmax(x: Tensor<'f32'>): Tensor<'f32'> {
    return softmaxGpu(this.ctx, x);
  }
  swiglu(gate: Tensor<'f32'>, up: Tensor<'f32'>): Tensor<'f32'> {
    return swigluGpu(this.ctx, gate, up);
  }
  embedding(table: Tensor<FloatDType>, ids: Tensor<'i32'>, opts?: { rowOffset?: number }): Tensor<'f32'> {
    return embeddingGpu(this.ctx, table, ids, opts);
  }
  applyMask(w: Tensor<'f32'>, mask: Tensor<'i32'>): Tensor<'f32'> {
    return applyMaskGpu(this.ctx, w, mask);
  }

  add(a: Tensor<'f32'>, b: Tensor<'f32'>): Tensor<'f32'> {
    return addGpu(this.ctx, a, b);
  }
  topk(x: Tensor<'f32'>, k: number): TopKResult {
    return topkGpu(this.ctx, x, k);
  }
  writeColumns(dst: Tensor<'f32'>, src: Tensor<'f32'>, colOffset: number): void {
    writeColumnsGpu(this.ctx, dst, src, colOffset);
  }
  writeRows(dst: Tensor<'f32'>, src: Tensor<'f32'>, rowOffset: number): void {
    writeRowsGpu(this.ctx, dst, src, rowOffset);
  }
  moeRoute(logits: Tensor<'f32'>, o: MoeRouteOptions): MoeRouteResult {
    return moeRouteGpu(this.ctx, logits, o);
  }
  moeCombine(y: Tensor<'f32'>, slots: Tensor<'i32'>, gates: Tensor<'f32'>): Tensor<'f32'> {
    return moeCombineGpu(this.ctx, y, slots, gates);
  }
  patternProbe(probs: Tensor<'f32'>, o: PatternProbeOptions): PatternProbeResult {
    return patternProbeGpu(this.ctx, probs, o);
  }
  saeEncode(
    x: Tensor<'f32'>,
    wEnc: Tensor<'f32'>,
    bEnc: Tensor<'f32'>,
    bDec: Tensor<'f32'>,
    o: SaeEncodeOptions,
  ): SaeEncodeResult {
    return saeEncodeGpu(this.ctx, x, wEnc, bEnc, bDec, o);
  }
  saeAuxLatents(pre: Tensor<'f32'>, dead: Tensor<'i32'>, auxK: number): Tensor<'f32'> {
    return saeAuxLatentsGpu(this.ctx, pre, dead, auxK);
  }
  rowAffine(x: Tensor<'f32'>, o: RowAffineOptions): Tensor<'f32'> {
    return rowAffineGpu(this.ctx, x, o);
  }
  saeReconStats(err: Tensor<'f32'>, o: SaeReconStatsOptions): SaeReconStatsResult {
    return saeReconStatsGpu(this.ctx, err, o);
  }
  saeBackward(
    pre: Tensor<'f32'>,
    latents: Tensor<'f32'>,
    gf: Tensor<'f32'>,
    o: SaeBackwardOptions,
  ): SaeBackwardResult {
    return saeBackwardGpu(this.ctx, pre, latents, gf, o);
  }
  saeDecoderGrad(g: Tensor<'f32'>, w: Tensor<'f32'>, o: SaeDecoderGradOptions): Tensor<'f32'> {
    return saeDecoderGradGpu(this.ctx, g, w, o);
  }
  normalizeRows(w: Tensor<'f32'>): Tensor<'f32'> {
    return normalizeRowsGpu(this.ctx, w);
  }
  adamUpdate(
    param: Tensor<'f32'>,
    grad: Tensor<'f32'>,
    m: Tensor<'f32'>,
    v: Tensor<'f32'>,
    o: AdamUpdateOptions,
  ): AdamUpdateResult {
    return adamUpdateGpu(this.ctx, param, grad, m, v, o);
  }
}

/**
 * Create the WebGPU backend (page, worker, or Node with the `webgpu` package's `gpu`). Throws
 * WebGpuUnavailableError when no adapter exists; never falls back to the CPU.
 */
export async function createWebGpuBackend(gpu?: GPU): Promise<WebGpuBackend> {
  const { device, adapterDescription } = await acquireDevice(gpu);
  return new WebGpuBackend(new GpuContext(device), adapterDescription);
}
