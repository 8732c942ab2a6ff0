/**
 * Pruned weights on the model's backend, as per-call overrides: the dense weights stay loaded and
 * untouched, so a pruned variant costs one extra tensor per pruned matrix and any variant can be
 * switched to by uploading its masks. Mask-only weights are made on the device with `applyMask`
 * from bit-packed masks (1/32 of the weight's size); SparseGPT's re-fitted values are uploaded.
 */
import { maskWords, packMask } from '../../kernels/apply-mask.cpu';
import type { Tensor } from '../../kernels/tensor';
import type { LayerWeightOverrides, LinearWeightName, LlamaModel } from '../../runtime/model/llama';
import type { PrunedWeight } from './prune-block';

export class PrunedUpload {
  private readonly tensors = new Map<number, Partial<Record<LinearWeightName, Tensor<'f32'>>>>();

  constructor(private readonly model: LlamaModel) {}

  /** Upload (or replace) pruned matrices. */
  add(weights: readonly PrunedWeight[]): void {
    const b = this.model.backend;
    for (const p of weights) {
      let t: Tensor<'f32'>;
      if (p.values) {
        t = b.tensor<'f32'>(p.values, [p.rows, p.cols]);
      } else {
        const mask = b.tensor<'i32'>(packMask(p.mask), [maskWords(p.mask.length)]);
        t = b.applyMask(this.model.weight(p.layer, p.name), mask);
        b.dispose(mask);
      }
      const layer = this.tensors.get(p.layer) ?? {};
      b.dispose(layer[p.name]);
      layer[p.name] = t;
      this.tensors.set(p.layer, layer);
    }
  }

  /** The overrides to pass as `ForwardOptions.weights` / `LossOptions.weights`. */
  get overrides(): LayerWeightOverrides {
    return Object.fromEntries(this.tensors);
  }

  dispose(): void {
    for (const layer of this.tensors.values()) this.model.backend.dispose(...Object.values(layer));
    this.tensors.clear();
  }
}
