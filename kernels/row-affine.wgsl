// Row-broadcast affine map: out[r, c] = scale · (x[r, c] + bias_scale · bias[c] − minus[r, c]).
// Absent inputs are bound to x and skipped by the has_* flags, so every variant has one layout.
struct Params { n: u32, cols: u32, scale: f32, bias_scale: f32, has_bias: u32, has_minus: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read> minus: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  var v = x[i];
  if (params.has_bias != 0u) { v += params.bias_scale * bias[i % params.cols]; }
  if (params.has_minus != 0u) { v -= minus[i]; }
  out[i] = params.scale * v;
}
