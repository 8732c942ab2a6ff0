// Pruning mask applied to a weight matrix: out[i] = w[i] if bit i of the packed mask is set, else 0.
// The mask holds 32 entries per u32 word (bit i & 31 of word i >> 5), 1/32 of the weight's size,
// so every point of a pruning sweep can keep its mask on the device.
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  let kept = (mask[i >> 5u] >> (i & 31u)) & 1u;
  out[i] = select(0.0, w[i], kept == 1u);
}
