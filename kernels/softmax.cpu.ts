import type { Tensor } from './tensor';
import { cpu, f32, rowsCols } from './cpu-tensor';
import type { KnownRow } from './pattern-probe.cpu';

/** Softmax of a row in place over [start, start + n): subtract the max for stability. */
export function softmaxRow(v: Float32Array, start: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, v[start + i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(v[start + i]! - max);
    v[start + i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) v[start + i]! /= sum;
}

/**
 * `softmaxRow` (the same probabilities, bit for bit) that also tells what the fused attention probe
 * needs of the row (`KnownRow`): its entropy in nats from the scores rather than from a logarithm
 * per probability (with z_j = s_j − max and Z = Σ e^z_j, H = ln Z − Σ e^z_j · z_j / Z), and the
 * largest probability's float bits: the maximum's e^0 = 1 divided by Z, rounded to float32 as it is
 * stored.
 */
export function softmaxRowKnown(v: Float32Array, start: number, n: number, out: KnownRow): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, v[start + i]!);
  let sum = 0;
  let ez = 0;
  for (let i = 0; i < n; i++) {
    const z = v[start + i]! - max;
    const e = Math.exp(z);
    v[start + i] = e;
    sum += e;
    ez += e * z;
  }
  for (let i = 0; i < n; i++) v[start + i]! /= sum;
  out.entropy = Math.log(sum) - ez / sum;
  bits[0] = 1 / sum;
  out.topKey = bitsU32[0]!;
}

const bits = new Float32Array(1);
const bitsU32 = new Uint32Array(bits.buffer);

/** Reference softmax over the last dim. */
export function softmaxCpu(x: Tensor<'f32'>): Tensor<'f32'> {
  const [rows, cols] = rowsCols(x.shape);
  const out = new Float32Array(cpu(x).data);
  for (let r = 0; r < rows; r++) softmaxRow(out, r * cols, cols);
  return f32(out, x.shape);
}
