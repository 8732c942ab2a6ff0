// z = probs × v per head with grouped KV heads: probs [n_heads, T, Tk], v [Tk, n_kv_heads * HD],
// z [T, n_heads * HD]. The path taken when a hook replaces the attention pattern, so every key is
// summed (the pattern need not be causal). One invocation per (query row, head) with HD
// accumulators in registers; no barriers (see attention.wgsl). attention.ts sets HD, WG, W (4
// when HD is a multiple of 4: v and z are read and written as vec4) and the VEC4 block.

const HD: u32 = 64u;
const WG: u32 = 64u;
const W: u32 = 4u;
const HV: u32 = HD / W;

// #if VEC4
alias vec = vec4<f32>;
// #else
alias vec = f32;
// #endif

struct Params {
  t: u32,
  n_heads: u32,
  group: u32,
  tk: u32,
  q_dim: u32,
  kv_dim: u32,
}

@group(0) @binding(0) var<storage, read> probs: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<vec>;
@group(0) @binding(2) var<storage, read_write> out: array<vec>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = gid.x + gid.y * nwg.x * WG;
  if (id >= params.t * params.n_heads) {
    return;
  }
  let i = id / params.n_heads;
  let h = id % params.n_heads;
  // Offsets of v and out in units of vec.
  let kvo = (h / params.group) * HV;
  let stride = params.kv_dim / W;
  let row = (h * params.t + i) * params.tk;

  var acc: array<vec, HV>;
  // Keys in blocks of 4 (fewer loop iterations), then the rest.
  var j = 0u;
  for (; j + 4u <= params.tk; j += 4u) {
    let p = vec4<f32>(probs[row + j], probs[row + j + 1u], probs[row + j + 2u], probs[row + j + 3u]);
    let vo = j * stride + kvo;
    for (var d = 0u; d < HV; d++) {
      acc[d] += p.x * v[vo + d] + p.y * v[vo + stride + d] + p.z * v[vo + 2u * stride + d] +
        p.w * v[vo + 3u * stride + d];
    }
  }
  for (; j < params.tk; j++) {
    let p = probs[row + j];
    let vo = j * stride + kvo;
    for (var d = 0u; d < HV; d++) {
      acc[d] += p * v[vo + d];
    }
  }
  let oo = (i * params.q_dim + h * HD) / W;
  for (var d = 0u; d < HV; d++) {
    out[oo + d] = acc[d];
  }
}
