// MoE combine: out[t, :] = Σ_j gates[t, j] · y[slots[t, j], :], j = 0..k-1 in order, where y holds
// every expert's output rows (expert by expert) and slots[t, j] is the row of y that token t's
// j-th expert produced. One thread per output element reads its k rows and writes once: no two
// experts ever write the same token, so there is no race and no atomics, and the sum order is
// fixed (deterministic). A slot of −1 (or outside [0, n)) contributes nothing.
struct Params { total: u32, d: u32, k: u32, n: u32 }

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> slots: array<i32>;
@group(0) @binding(2) var<storage, read> gates: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.total) { return; }
  let t = i / params.d;
  let c = i - t * params.d;
  var acc = 0.0;
  for (var j = 0u; j < params.k; j++) {
    let s = slots[t * params.k + j];
    if (s >= 0 && u32(s) < params.n) {
      acc += gates[t * params.k + j] * y[u32(s) * params.d + c];
    }
  }
  out[i] = acc;
}
