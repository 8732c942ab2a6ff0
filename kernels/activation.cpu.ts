import type { ActivationKind } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32 } from './cpu-tensor';
import { sameShape } from './shapes';

/** Every `ActivationKind`, in the order of the WGSL `KIND` constant (activation.wgsl). */
export const ACTIVATION_KINDS: readonly ActivationKind[] = ['silu', 'gelu_tanh', 'gelu', 'relu', 'sigmoid'];

/** Throws unless kind is an ActivationKind; returns its index (the WGSL `KIND`). */
export function activationKindIndex(kind: ActivationKind, op: string): number {
  const i = ACTIVATION_KINDS.indexOf(kind);
  if (i < 0) {
    throw new Error(
      `${op}: unknown activation '${String(kind)}' (expected one of ${ACTIVATION_KINDS.join(', ')})`,
    );
  }
  return i;
}

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1/√π
const SQRT_2_OVER_PI = 0.7978845608028654; // √(2/π)
const SQRT_HALF = 0.7071067811865476; // 1/√2

/**
 * erfc(z) for z ≥ 0 in float64, relative error below 2e-13 (against Python's math.erfc on a grid of
 * [−6, 6] and beyond: 1.4e-13 just below z = 2, ~1e-15 from 2 on). Below 2: 1 − erf(z) with the series
 * erf(z) = (2/√π)·e^{−z²}·Σₙ 2ⁿz^{2n+1}/(1·3·…·(2n+1)), whose terms are all positive (no
 * cancellation; the subtraction costs at most a factor 1/erfc(2) ≈ 215 of the 1e-16 error).
 * From 2 on: the continued fraction erfc(z) = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))),
 * evaluated by modified Lentz (≤ 60 steps at z = 2, fewer beyond).
 */
function erfcPositive(z: number): number {
  if (z < 2) return 1 - erfSeries(z);
  // Lentz on b0 + a1/(b1 + a2/(b2 + …)) with b = z, a_k = k/2.
  const tiny = 1e-300;
  let f = z;
  let c = z;
  let d = 0;
  for (let k = 1; k < 200; k++) {
    const a = k / 2;
    d = z + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = z + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-z * z) * ONE_OVER_SQRT_PI) / f;
}

/** erf(z) for 0 ≤ z < 3 by the all-positive series (see erfcPositive); ≤ 60 terms. */
function erfSeries(z: number): number {
  const z2 = 2 * z * z;
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= z2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-z * z) * sum;
}

/** Complementary error function in float64 (relative error < 2e-13 for every z). */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return NaN;
  return z >= 0 ? erfcPositive(z) : 2 - erfcPositive(-z);
}

/** Error function in float64 (absolute error < 1e-16; relative < 1e-14, also near 0). */
export function erf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const a = Math.abs(z);
  const e = a < 3 ? erfSeries(a) : 1 - erfcPositive(a);
  return z < 0 ? -e : e;
}

/** σ(x) = 1 / (1 + e^−x). */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** silu(x) = x·σ(x), written as swigluCpu writes it (so gatedActivation 'silu' equals swiglu bit for bit). */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/**
 * gelu_tanh(x) = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), computed as x·σ(2u) with
 * u = √(2/π)(x + 0.044715x³) (the same function: ½(1 + tanh u) = σ(2u)), which keeps the tiny
 * negative tail accurate instead of cancelling 1 + tanh u ≈ 0.
 */
export function geluTanh(x: number): number {
  const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  return x / (1 + Math.exp(-2 * u));
}

/** Exact gelu(x) = 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(−x/√2) (no cancellation for x < 0). */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * SQRT_HALF);
}

export function relu(x: number): number {
  return x > 0 ? x : 0;
}

/** The scalar function of an activation kind (float64). */
export function activationFn(kind: ActivationKind): (x: number) => number {
  switch (kind) {
    case 'silu':
      return silu;
    case 'gelu_tanh':
      return geluTanh;
    case 'gelu':
      return gelu;
    case 'relu':
      return relu;
    case 'sigmoid':
      return sigmoid;
  }
}

/** Reference elementwise activation: each value in float64, rounded once to float32. */
export function activationCpu(x: Tensor<'f32'>, kind: ActivationKind): Tensor<'f32'> {
  activationKindIndex(kind, 'activation');
  const f = activationFn(kind);
  const X = cpu(x).data;
  const out = new Float32Array(X.length);
  for (let i = 0; i < X.length; i++) out[i] = f(X[i]!);
  return f32(out, x.shape);
}

/** Reference gated activation act(gate)·up: one float64 product per element, rounded once. */
export function gatedActivationCpu(
  gate: Tensor<'f32'>,
  up: Tensor<'f32'>,
  kind: ActivationKind,
): Tensor<'f32'> {
  sameShape(gate.shape, up.shape, 'gatedActivation');
  activationKindIndex(kind, 'gatedActivation');
  const f = activationFn(kind);
  const G = cpu(gate).data;
  const U = cpu(up).data;
  const out = new Float32Array(G.length);
  for (let i = 0; i < G.length; i++) out[i] = f(G[i]!) * U[i]!;
  return f32(out, gate.shape);
}
