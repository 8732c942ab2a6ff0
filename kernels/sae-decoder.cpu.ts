import type { SaeDecoderGradOptions } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { sameShape } from './shapes';

export function checkDecoderGrad(
  g: Tensor<'f32'>,
  w: Tensor<'f32'>,
  o: SaeDecoderGradOptions,
): [number, number] {
  if (w.shape.length !== 2)
    throw new Error(`saeDecoderGrad: w must be [rows, cols], got [${w.shape.join(', ')}]`);
  sameShape(g.shape, w.shape, 'saeDecoderGrad');
  const [rows, cols] = w.shape as [number, number];
  if (o.rowScale && o.rowScale.size !== rows) {
    throw new Error(`saeDecoderGrad: rowScale has ${o.rowScale.size} values, w has ${rows} rows`);
  }
  return [rows, cols];
}

/**
 * Reference of `saeDecoderGrad` (analyses/sae/decoder-norm.ts): h_j = g_j + rowScale_j·w_j, then
 * with `project` h_j − (h_j·w_j / ‖w_j‖²)·w_j (rows with w_j = 0 are left as they are).
 */
export function saeDecoderGradCpu(
  g: Tensor<'f32'>,
  w: Tensor<'f32'>,
  o: SaeDecoderGradOptions,
): Tensor<'f32'> {
  const [rows, cols] = checkDecoderGrad(g, w, o);
  const G = cpu(g).data;
  const W = cpu(w).data;
  const S = o.rowScale ? cpu(o.rowScale).data : undefined;
  const out = new Float32Array(G.length);
  for (let j = 0; j < rows; j++) {
    const r = j * cols;
    const s = S ? S[j]! : 0;
    for (let d = 0; d < cols; d++) out[r + d] = G[r + d]! + s * W[r + d]!;
    if (!o.project) continue;
    let dot = 0;
    let n2 = 0;
    for (let d = 0; d < cols; d++) {
      dot += out[r + d]! * W[r + d]!;
      n2 += W[r + d]! * W[r + d]!;
    }
    if (n2 === 0) continue;
    const c = dot / n2;
    for (let d = 0; d < cols; d++) out[r + d] = out[r + d]! - c * W[r + d]!;
  }
  return f32(out, w.shape);
}

/** Reference of `normalizeRows`: every non-zero row of w [rows, cols] scaled to unit norm. */
export function normalizeRowsCpu(w: Tensor<'f32'>): Tensor<'f32'> {
  if (w.shape.length !== 2)
    throw new Error(`normalizeRows: w must be [rows, cols], got [${w.shape.join(', ')}]`);
  const [rows, cols] = w.shape as [number, number];
  const W = cpu(w).data;
  const out = W.slice();
  for (let j = 0; j < rows; j++) {
    let n2 = 0;
    for (let d = 0; d < cols; d++) n2 += W[j * cols + d]! * W[j * cols + d]!;
    if (n2 === 0) continue;
    const inv = 1 / Math.sqrt(n2);
    for (let d = 0; d < cols; d++) out[j * cols + d] = out[j * cols + d]! * inv;
  }
  return f32(out, w.shape);
}
