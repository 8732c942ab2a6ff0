// Row gather: out[i, :] = x[rows[i], :] (the tokens routed to one expert). A row index outside
// [0, T) gives a zero row (the CPU reference throws; a shader cannot, and reading out of bounds
// is worse).
struct Params { n: u32, d: u32, t: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> rows: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  let r = i / params.d;
  let c = i - r * params.d;
  let src = rows[r];
  var value = 0.0;
  if (src >= 0 && u32(src) < params.t) { value = x[u32(src) * params.d + c]; }
  out[i] = value;
}
