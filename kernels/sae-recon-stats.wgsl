// Sums of squares of the SAE residual, kept on the device for AuxK's normaliser:
//   ROWS:  partial[r] = (Σ_c err², Σ_c (err + ê)²) for one row per thread;
//   TOTAL: sums = Σ_r partial[r], in one thread, in row order (deterministic, no atomics);
//   GRAD:  aux_grad = (2α / Σ err²)·(err + ê), or 0 when Σ err² = 0.
// Without AuxK the ê binding is err itself and has_aux = 0.
struct Params { rows: u32, cols: u32, has_aux: u32, alpha: f32 }

// #if ROWS
@group(0) @binding(0) var<storage, read> err: array<f32>;
@group(0) @binding(1) var<storage, read> aux: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
// #endif
// #if TOTAL
@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
// #endif
// #if GRAD
@group(0) @binding(0) var<storage, read> err: array<f32>;
@group(0) @binding(1) var<storage, read> aux: array<f32>;
@group(0) @binding(2) var<storage, read> sums: array<f32>;
@group(0) @binding(3) var<storage, read_write> aux_grad: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
// #endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  // #if ROWS
  if (i >= params.rows) { return; }
  var s = 0.0;
  var a = 0.0;
  for (var c = 0u; c < params.cols; c++) {
    let e = err[i * params.cols + c];
    s += e * e;
    if (params.has_aux != 0u) {
      let d = e + aux[i * params.cols + c];
      a += d * d;
    }
  }
  partial[2u * i] = s;
  partial[2u * i + 1u] = a;
  // #endif
  // #if TOTAL
  if (i > 0u) { return; }
  var s = 0.0;
  var a = 0.0;
  for (var r = 0u; r < params.rows; r++) {
    s += partial[2u * r];
    a += partial[2u * r + 1u];
  }
  sums[0] = s;
  sums[1] = a;
  // #endif
  // #if GRAD
  if (i >= params.rows * params.cols) { return; }
  let sse = sums[0];
  var scale = 0.0;
  if (sse > 0.0) { scale = 2.0 * params.alpha / sse; }
  aux_grad[i] = scale * (err[i] + aux[i]);
  // #endif
}
