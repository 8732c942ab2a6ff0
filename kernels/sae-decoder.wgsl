// Decoder-row maintenance of the unit-norm constraint, one thread per row of w [rows, cols]:
//   GRAD:      h = g + row_scale[j]·w_j, then (project) h − (h·w_j / ‖w_j‖²)·w_j;
//   NORMALIZE: w_j / ‖w_j‖ (zero rows kept).
struct Params { rows: u32, cols: u32, has_scale: u32, project: u32 }

// #if GRAD
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> row_scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
// #else
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
// #endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j >= params.rows) { return; }
  let r = j * params.cols;
  var n2 = 0.0;
  for (var d = 0u; d < params.cols; d++) { n2 += w[r + d] * w[r + d]; }
  // #if GRAD
  var s = 0.0;
  if (params.has_scale != 0u) { s = row_scale[j]; }
  var dp = 0.0;
  for (var d = 0u; d < params.cols; d++) {
    let h = g[r + d] + s * w[r + d];
    out[r + d] = h;
    dp += h * w[r + d];
  }
  if (params.project == 0u || n2 == 0.0) { return; }
  let c = dp / n2;
  for (var d = 0u; d < params.cols; d++) { out[r + d] = out[r + d] - c * w[r + d]; }
  // #else
  var inv = 1.0;
  if (n2 > 0.0) { inv = 1.0 / sqrt(n2); }
  for (var d = 0u; d < params.cols; d++) { out[r + d] = w[r + d] * inv; }
  // #endif
}
