import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { gatherRowsDims } from './shapes';

/** Reference row gather: x [T, D], rows i32 [n] → [n, D]; a row outside [0, T) throws. */
export function gatherRowsCpu(x: Tensor<'f32'>, rows: Tensor<'i32'>): Tensor<'f32'> {
  const { t, d } = gatherRowsDims(x.shape);
  assertDType(x, 'f32', 'gatherRows x');
  assertDType(rows, 'i32', 'gatherRows rows');
  const X = cpu(x).data;
  const R = cpu(rows).data;
  const out = new Float32Array(R.length * d);
  for (let i = 0; i < R.length; i++) {
    const r = R[i]!;
    if (!(r >= 0 && r < t)) throw new Error(`gatherRows: row index ${r} at ${i} is outside [0, ${t})`);
    out.set(X.subarray(r * d, (r + 1) * d), i * d);
  }
  return f32(out, [R.length, d]);
}
