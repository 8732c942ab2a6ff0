// Row LayerNorm over the last dim: out = (x − mean) / sqrt(var + eps) · weight (+ bias), biased
// variance as torch.nn.LayerNorm. Threads share rows as in rmsnorm.wgsl (LANES = 1: a thread per
// row, no barrier; 8 or 64 lanes for long rows, each summing its strided columns, one barrier per
// pass). Two passes over the row, both on data shifted by the row's first value k:
//   1. m = mean(x − k)            (a large common offset no longer swamps the f32 sum)
//   2. var = mean(((x − k) − m)²) (deviations from the mean, never E[x²] − E[x]²)
// and the output uses (x − k) − m, so the mean itself is never rounded to the offset's precision.
struct Params { rows: u32, cols: u32, eps: f32, hasBias: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>; // weight again when hasBias = 0
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 64u;
const LANES: u32 = 1u;

var<workgroup> partialSum: array<f32, WG>;
var<workgroup> partialSq: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let cols = params.cols;
  let row = (wid.x + wid.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  // No early return: every thread must reach the barriers.
  let live = row < params.rows;
  let end = select(0u, cols, live);
  let base = row * cols;
  let k = select(0.0, x[min(base, arrayLength(&x) - 1u)], live);
  let n = f32(cols);

  var s = 0.0;
  for (var c = lane; c < end; c += LANES) { s += x[base + c] - k; }
  if (LANES > 1u) {
    partialSum[lid] = s;
    workgroupBarrier();
    s = 0.0;
    for (var i = 0u; i < LANES; i++) { s += partialSum[lid - lane + i]; }
  }
  let m = s / n;

  var ss = 0.0;
  for (var c = lane; c < end; c += LANES) {
    let d = (x[base + c] - k) - m;
    ss += d * d;
  }
  if (LANES > 1u) {
    partialSq[lid] = ss;
    workgroupBarrier();
    ss = 0.0;
    for (var i = 0u; i < LANES; i++) { ss += partialSq[lid - lane + i]; }
  }

  let inv = inverseSqrt(ss / n + params.eps);
  let hasBias = params.hasBias != 0u;
  for (var c = lane; c < end; c += LANES) {
    let y = ((x[base + c] - k) - m) * inv * weight[c];
    out[base + c] = select(y, y + bias[c], hasBias);
  }
}
