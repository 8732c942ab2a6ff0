import type { SaeReconStatsOptions, SaeReconStatsResult } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { sameShape } from './shapes';

export function checkReconStats(err: Tensor<'f32'>, o: SaeReconStatsOptions): void {
  if (err.shape.length !== 2)
    throw new Error(`saeReconStats: err must be [n, dIn], got [${err.shape.join(', ')}]`);
  if (o.auxRecon) sameShape(err.shape, o.auxRecon.shape, 'saeReconStats auxRecon');
  if (o.auxRecon && !(o.auxCoefficient! >= 0)) {
    throw new Error(`saeReconStats: auxCoefficient must be ≥ 0, got ${o.auxCoefficient}`);
  }
}

/**
 * Reference of `saeReconStats`: sums = [Σ err², Σ (err + ê)²] in float64; with `auxRecon` also
 * auxGrad = (2α / Σ err²)·(err + ê), or zeros when Σ err² = 0 (analyses/sae/loss.ts, AuxK).
 */
export function saeReconStatsCpu(err: Tensor<'f32'>, o: SaeReconStatsOptions = {}): SaeReconStatsResult {
  checkReconStats(err, o);
  const E = cpu(err).data;
  const A = o.auxRecon ? cpu(o.auxRecon).data : undefined;
  let sse = 0;
  let aux = 0;
  for (let t = 0; t < E.length; t++) {
    sse += E[t]! * E[t]!;
    if (A) {
      const d = E[t]! + A[t]!;
      aux += d * d;
    }
  }
  const out: SaeReconStatsResult = { sums: f32(Float32Array.of(sse, aux), [2]) };
  if (A) {
    const s = sse > 0 ? (2 * o.auxCoefficient!) / sse : 0;
    out.auxGrad = f32(
      Float32Array.from(E, (e, t) => s * (e + A[t]!)),
      err.shape,
    );
  }
  return out;
}
