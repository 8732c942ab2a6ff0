// Row softmax over the last dim, max-subtracted. LANES threads share a row (LANES = 1: a
// thread per row, no barrier, for short rows; 8 or 64 for long ones).
// Each lane keeps an online (max, sum of exp(x - max)) over its strided columns; the lanes' pairs
// are merged after one barrier. Entries equal to -Infinity (masked) get probability 0, tested on
// the bits because WGSL implementations need not honour infinities in arithmetic.
struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 64u;
const LANES: u32 = 1u;
const LOWEST: f32 = -0x1.fffffep+127f; // the lowest finite f32

var<workgroup> partMax: array<f32, WG>;
var<workgroup> partSum: array<f32, WG>;

fn isMasked(v: f32) -> bool {
  return bitcast<u32>(v) == 0xff800000u;
}

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

  var m = LOWEST;
  var s = 0.0;
  for (var c = lane; c < end; c += LANES) {
    let v = x[base + c];
    if (!isMasked(v)) {
      if (v > m) {
        s = s * exp(m - v) + 1.0;
        m = v;
      } else {
        s += exp(v - m);
      }
    }
  }

  if (LANES > 1u) {
    partMax[lid] = m;
    partSum[lid] = s;
    workgroupBarrier();
    let first = lid - lane;
    m = LOWEST;
    for (var i = 0u; i < LANES; i++) { m = max(m, partMax[first + i]); }
    s = 0.0;
    for (var i = 0u; i < LANES; i++) { s += partSum[first + i] * exp(partMax[first + i] - m); }
  }

  let inv = 1.0 / s;
  for (var c = lane; c < end; c += LANES) {
    let v = x[base + c];
    out[base + c] = select(exp(v - m) * inv, 0.0, isMasked(v));
  }
}
