// Rotary embedding, llama2.c layout: within each head, the pair (2i, 2i+1) of row r rotates by
// angle (pos0 + r) * theta^(-2i/headDim). cos/sin come from a host-computed table [positions, half]
// (exact to f32 rounding: sin/cos of arguments in the hundreds are not accurate enough in WGSL).
struct Params { pairs: u32, rowPairs: u32, half: u32, pos0: u32 }

@group(0) @binding(0) var<storage, read> x: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> table: array<vec2<f32>>; // (cos, sin)
@group(0) @binding(2) var<storage, read_write> out: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = gid.x + gid.y * nwg.x * 256u;
  if (p >= params.pairs) { return; }
  let row = p / params.rowPairs;
  let i = (p - row * params.rowPairs) % params.half;
  let cs = table[(params.pos0 + row) * params.half + i];
  let v = x[p];
  out[p] = vec2<f32>(v.x * cs.x - v.y * cs.y, v.x * cs.y + v.y * cs.x);
}
