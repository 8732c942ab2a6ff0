/**
 * Pruned weights on the model's backend, as per-call overrides: the dense weights stay loaded and
 * untouched, so a pruned variant costs one extra tensor per pruned matrix and any variant can be
 * switched to by uploading its masks. Mask-only weights are made on the device with `applyMask`
 * from bit-packed masks (1/32 of the weight's size); SparseGPT's re-fitted values are uploaded.
 */
import { maskWords, packMask } from '../../kernels/apply-mask.cpu';
import type { Backend } from '../../kernels/backend';
import type { FloatDType, Tensor } from '../../kernels/tensor';
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
        const w = this.model.weight(p.layer, p.name);
        // A 16-bit weight is decoded on the device first (an exact gather of all its rows).
        const dense = w.dtype === 'f32' ? (w as Tensor<'f32'>) : decodeRows(b, w);
        t = b.applyMask(dense, mask);
        b.dispose(mask, dense === w ? undefined : dense);
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

/** A 16-bit weight [rows, cols] as float32 on its backend: embedding's gather of every row. */
function decodeRows(b: Backend, w: Tensor<FloatDType>): Tensor<'f32'> {
  const rows = w.shape[0]!;
  const ids = b.tensor<'i32'>(
    Int32Array.from({ length: rows }, (_, i) => i),
    [rows],
  );
  const out = b.embedding(w, ids);
  b.dispose(ids);
  return out;
}
