import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';

/** Reference embedding gather: table [V, D], ids [T] → [T, D]. */
export function embeddingCpu(table: Tensor<'f32'>, ids: Tensor<'i32'>): Tensor<'f32'> {
  if (table.shape.length !== 2)
    throw new Error(`embedding: table must be [V, D], got [${table.shape.join(', ')}]`);
  const [v, d] = table.shape as [number, number];
  const T = cpu(table).data;
  const I = cpu(ids).data;
  const out = new Float32Array(I.length * d);
  for (let t = 0; t < I.length; t++) {
    const id = I[t]!;
    if (id < 0 || id >= v)
      throw new Error(`embedding: token id ${id} at position ${t} is outside the vocabulary [0, ${v})`);
    out.set(T.subarray(id * d, (id + 1) * d), t * d);
  }
  return f32(out, [I.length, d]);
}
