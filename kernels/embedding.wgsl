// Embedding gather: out[t, :] = table[ids[t], :]; an id outside [0, V) gives a zero row
// (the CPU reference throws; a shader cannot, and reading out of bounds is worse).
struct Params { n: u32, d: u32, v: u32 }

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  let t = i / params.d;
  let c = i - t * params.d;
  let id = ids[t];
  var value = 0.0;
  if (id >= 0 && u32(id) < params.v) { value = table[u32(id) * params.d + c]; }
  out[i] = value;
}
