/**
 * Per-row transforms a pretrained SAE expects its input to have been through, undone on its
 * reconstruction so the reconstruction lives in the model's own activation space again (what is
 * spliced back and what the metrics compare against):
 *
 * - `center`: subtract the row's mean over d_in. TransformerLens' `center_writing_weights`
 *   (its default in `from_pretrained`) centres every write to the residual stream, so a
 *   TransformerLens residual is ours minus its mean; SAEs trained on it (GPT-2 small res-jb) read
 *   x − mean(x). Undo: add the mean back.
 * - `constant_norm_rescale` (SAELens): x · √d_in / ‖x‖; undo: divide by the same factor.
 * - `layer_norm` (SAELens): (x − μ) / (σ + ε) with σ the unbiased standard deviation (torch's
 *   `std`), ε = 1e-5; undo: · σ + μ.
 *
 * `expected_average_only_in` (one dataset-wide factor) needs no transform: the loader folds the
 * factor into the weights, as SAELens' `fold_activation_norm_scaling_factor` does.
 */
export type SaeInputTransform =
  { kind: 'center' } | { kind: 'constant_norm_rescale' } | { kind: 'layer_norm'; eps: number };

/** The SAE-space input of rows x [n, d] and how to map reconstructions back. */
export interface AppliedTransform {
  /** [n, d] input as the SAE expects it. */
  y: Float32Array;
  /** Reconstructions [n, d] in SAE space → model space (in place; returned for chaining). */
  undo(rec: Float32Array): Float32Array;
}

/**
 * Apply `transforms` in order to rows of width d.
 *
 * @example
 * const { y, undo } = applyInputTransforms([{ kind: 'center' }], x, 768);
 * const rec = undo(decode(params, cfg, encode(params, cfg, y).latents));
 */
export function applyInputTransforms(
  transforms: readonly SaeInputTransform[],
  x: Float32Array,
  d: number,
): AppliedTransform {
  const n = x.length / d;
  const y = x.slice();
  const undos: ((rec: Float32Array) => void)[] = [];
  for (const t of transforms) {
    const a = new Float64Array(n); // per-row shift (added back)
    const s = new Float64Array(n).fill(1); // per-row scale (multiplied back)
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let sum = 0;
      let sq = 0;
      for (let j = 0; j < d; j++) {
        sum += y[o + j]!;
        sq += y[o + j]! ** 2;
      }
      const mean = sum / d;
      if (t.kind === 'center') {
        a[i] = mean;
      } else if (t.kind === 'constant_norm_rescale') {
        const norm = Math.sqrt(sq);
        s[i] = norm > 0 ? norm / Math.sqrt(d) : 1;
      } else {
        let v = 0;
        for (let j = 0; j < d; j++) v += (y[o + j]! - mean) ** 2;
        const std = d > 1 ? Math.sqrt(v / (d - 1)) : 0;
        a[i] = mean;
        s[i] = std + t.eps;
      }
      for (let j = 0; j < d; j++) y[o + j] = (y[o + j]! - a[i]!) / s[i]!;
    }
    undos.push((rec) => {
      for (let i = 0; i < n; i++) {
        const o = i * d;
        for (let j = 0; j < d; j++) rec[o + j] = rec[o + j]! * s[i]! + a[i]!;
      }
    });
  }
  return {
    y,
    undo(rec) {
      for (let k = undos.length - 1; k >= 0; k--) undos[k]!(rec);
      return rec;
    },
  };
}

/** How a transform is named in reports (SAELens' names where it has them). */
export function describeTransform(t: SaeInputTransform): string {
  if (t.kind === 'center') return 'center_writing_weights: inputs centred (x − mean(x)), mean added back';
  if (t.kind === 'constant_norm_rescale')
    return 'normalize_activations: constant_norm_rescale (x·√d/‖x‖ per row)';
  return `normalize_activations: layer_norm ((x − μ)/(σ + ${t.eps}) per row)`;
}
