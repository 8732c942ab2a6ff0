// writeColumns: dst[r, colOffset + c] = src[r, c] for src [R, n], dst [R, N]; one thread per src
// element (the logits of a split unembedding, chunk by chunk).
struct Params { count: u32, cols: u32, n: u32, colOffset: u32 }

@group(0) @binding(0) var<storage, read_write> dst: array<f32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.count) { return; }
  let r = i / params.cols;
  let c = i - r * params.cols;
  dst[r * params.n + params.colOffset + c] = src[i];
}
