// SwiGLU: out = silu(gate) * up, silu(g) = g * sigmoid(g).
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// exp of a non-positive argument only, so a large |g| never overflows to inf (whose arithmetic
// WGSL implementations need not honour): sigmoid(g) = 1 / (1 + e^-g) for g >= 0, e^g / (1 + e^g) below.
fn sigmoid(g: f32) -> f32 {
  let e = exp(-abs(g));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), g >= 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  let g = gate[i];
  out[i] = g * sigmoid(g) * up[i];
}
