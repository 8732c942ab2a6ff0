// Row RMSNorm over the last dim: out = x / sqrt(mean(x^2) + eps) * weight. LANES threads share a
// row (LANES = 1: a thread per row, no barrier, for short rows; 8 or 64 for long ones); each
// lane sums the squares of its strided columns and every lane adds up its row's partial sums
// after a single barrier (cheaper than a tree of barriers for these widths). Grouped RMSNorm
// (per-head qk-norm) runs this same kernel with each group as a row (rmsnorm.ts: rows = size /
// groupSize, cols = groupSize); weight is indexed by the column within the row.
struct Params { rows: u32, cols: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = 64u;
const LANES: u32 = 1u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let cols = params.cols;
  let row = (wid.x + wid.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  // No early return: every thread must reach the barrier.
  let end = select(0u, cols, row < params.rows);
  let base = row * cols;

  var ss = 0.0;
  for (var c = lane; c < end; c += LANES) {
    let v = x[base + c];
    ss += v * v;
  }
  if (LANES > 1u) {
    partial[lid] = ss;
    workgroupBarrier();
    let first = lid - lane;
    ss = 0.0;
    for (var i = 0u; i < LANES; i++) { ss += partial[first + i]; }
  }

  let inv = inverseSqrt(ss / f32(cols) + params.eps);
  for (var c = lane; c < end; c += LANES) {
    out[base + c] = x[base + c] * inv * weight[c];
  }
}
