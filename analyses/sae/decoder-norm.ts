/**
 * The unit-norm decoder constraint (OpenAI's TopK paper, SAELens' `normalize_sae_decoder`): before
 * the optimiser step, drop the component of each decoder row's gradient along the row, so the step
 * moves the row along the unit sphere's tangent instead of spending itself on a norm change that
 * the renormalisation after the step would undo (which would also pollute Adam's moment estimates);
 * after the step, rescale every row back to norm 1.
 */

/** g_j ← g_j − (g_j·w_j / ‖w_j‖²)·w_j for each decoder row j, in place. */
export function removeParallelDecoderGrad(
  wDec: Float32Array,
  gWdec: Float32Array,
  dSae: number,
  dIn: number,
): void {
  for (let j = 0; j < dSae; j++) {
    const w = j * dIn;
    let dot = 0;
    let n2 = 0;
    for (let d = 0; d < dIn; d++) {
      dot += gWdec[w + d]! * wDec[w + d]!;
      n2 += wDec[w + d]! * wDec[w + d]!;
    }
    if (n2 === 0) continue;
    const c = dot / n2;
    for (let d = 0; d < dIn; d++) gWdec[w + d]! -= c * wDec[w + d]!;
  }
}

/** Rescale every non-zero decoder row to unit Euclidean norm, in place. */
export function normalizeDecoderRows(wDec: Float32Array, dSae: number, dIn: number): void {
  for (let j = 0; j < dSae; j++) {
    const w = j * dIn;
    let n2 = 0;
    for (let d = 0; d < dIn; d++) n2 += wDec[w + d]! * wDec[w + d]!;
    if (n2 === 0) continue;
    const inv = 1 / Math.sqrt(n2);
    for (let d = 0; d < dIn; d++) wDec[w + d]! *= inv;
  }
}
