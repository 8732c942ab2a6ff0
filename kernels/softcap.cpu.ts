import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';

/** Throws unless cap is a finite number > 0 (shared with the WebGPU dispatcher). */
export function checkSoftcap(cap: number): void {
  if (!(cap > 0) || !Number.isFinite(cap)) {
    throw new Error(`softcap: cap must be a finite number > 0, got ${cap}`);
  }
}

/** Reference soft-capping cap·tanh(x / cap), each value in float64 rounded once to float32. */
export function softcapCpu(x: Tensor<'f32'>, cap: number): Tensor<'f32'> {
  checkSoftcap(cap);
  const X = cpu(x).data;
  const out = new Float32Array(X.length);
  for (let i = 0; i < X.length; i++) out[i] = cap * Math.tanh(X[i]! / cap);
  return f32(out, x.shape);
}
