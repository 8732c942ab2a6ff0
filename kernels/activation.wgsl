// Elementwise activation out = act(x), or with GATED act(gate)·up. KIND selects the function, in
// the order of ACTIVATION_KINDS (activation.cpu.ts): 0 silu, 1 gelu_tanh, 2 gelu (exact, erf),
// 3 relu, 4 sigmoid. activation.ts sets KIND and GATED, so each pipeline holds one function.
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
// #if GATED
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
// #else
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
// #endif

const KIND: u32 = 0u;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const SQRT_HALF: f32 = 0.7071067811865476;

// exp of a non-positive argument only, so a large |g| never overflows to inf (whose arithmetic
// WGSL implementations need not honour): 1 / (1 + e^-g) for g >= 0, e^g / (1 + e^g) below.
// The same function as swiglu.wgsl's, so gated silu equals swiglu.
fn sigmoid(g: f32) -> f32 {
  let e = exp(-abs(g));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), g >= 0.0);
}

// erfc(z) for z >= 0: Numerical Recipes' erfcc (Chebyshev fit, W. H. Press et al., §6.2),
// fractional error < 1.2e-7 for every z >= 0 in exact arithmetic (1.04e-7 measured against the
// float64 reference). In f32 the exponent -z² carries a rounding error of z²·2^-24, so the relative
// error grows to ~1e-6 around z = 4 (erfc ≈ 1.5e-8) and beyond; the absolute error stays < 1e-7.
fn erfcPositive(z: f32) -> f32 {
  // From z = 10 on erfc(z) < 2.1e-45, zero in f32 (or its smallest denormal): return 0 there, and
  // evaluate on the clamped argument so that a huge z never meets inf arithmetic.
  let zc = min(z, 10.0);
  let t = 1.0 / (1.0 + 0.5 * zc);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return select(t * exp(p - zc * zc), 0.0, z >= 10.0);
}

// erfc for any z: erfc(-z) = 2 - erfc(z). WGSL has no erf; erf(z) = 1 - erfc(z).
fn erfc(z: f32) -> f32 {
  let e = erfcPositive(abs(z));
  return select(2.0 - e, e, z >= 0.0);
}

fn act(v: f32) -> f32 {
  if (KIND == 0u) {
    return v * sigmoid(v);
  } else if (KIND == 1u) {
    // 0.5·v·(1 + tanh(u)) = v·σ(2u): no tanh (whose large arguments some implementations turn into
    // NaN) and no cancellation of 1 + tanh(u) for negative v. |v| >= 20 already gives σ = 0 or 1
    // exactly in f32, so clamping the cube there changes nothing and keeps it finite.
    let c = clamp(v, -20.0, 20.0);
    let u = SQRT_2_OVER_PI * (c + 0.044715 * c * c * c);
    return v * sigmoid(2.0 * u);
  } else if (KIND == 2u) {
    // 0.5·v·(1 + erf(v/√2)) = 0.5·v·erfc(-v/√2): the tail for v < 0 keeps its relative accuracy.
    return 0.5 * v * erfc(-v * SQRT_HALF);
  } else if (KIND == 3u) {
    return select(0.0, v, v > 0.0);
  }
  return sigmoid(v);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  // #if GATED
  out[i] = act(x[i]) * up[i];
  // #else
  out[i] = act(x[i]);
  // #endif
}
