// Elementwise SAE backward, one thread per latent column j walking the n rows in order (so the
// column sums are deterministic and need no atomics; consecutive threads read consecutive
// addresses of each row). KIND: 0 relu, 1 topk, 2 jumprelu.
//   dPre[i, j] = (f ≠ 0)·(gf + relu: λ‖W_dec[j]‖/n) + (aux_f > 0)·aux_gf
// `side` is W_dec [dSae, dIn] for relu, log θ [dSae] for jumprelu, unused (pre) for topk.
// out holds, each [dSae] long: db_enc, extra (relu: decoder row scale, jumprelu: ∂L/∂log θ), then
// [dSae, 3] statistics (fired, rows active, Σ f·‖W_dec[j]‖); sae-backward.ts copies them apart.
const KIND: u32 = 0u;

struct Params { n: u32, d_sae: u32, d_in: u32, has_aux: u32, lambda: f32, eps: f32 }

@group(0) @binding(0) var<storage, read> pre: array<f32>;
@group(0) @binding(1) var<storage, read> lat: array<f32>;
@group(0) @binding(2) var<storage, read> gf: array<f32>;
@group(0) @binding(3) var<storage, read> side: array<f32>;
@group(0) @binding(4) var<storage, read> aux_lat: array<f32>;
@group(0) @binding(5) var<storage, read> aux_gf: array<f32>;
@group(0) @binding(6) var<storage, read_write> d_pre: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
  let D = params.d_sae;
  if (j >= D) { return; }
  let n = f32(params.n);
  var norm = 0.0;
  if (KIND == 0u) {
    for (var d = 0u; d < params.d_in; d++) {
      let w = side[j * params.d_in + d];
      norm += w * w;
    }
    norm = sqrt(norm);
  }
  var theta = 0.0;
  if (KIND == 2u) { theta = exp(side[j]); }
  let l1 = params.lambda / n * norm;
  let half_eps = params.eps / 2.0;
  let l0_step = -params.lambda / (n * params.eps);
  var fired = 0.0;
  var nnz = 0.0;
  var f_sum = 0.0;
  var gb = 0.0;
  var g_theta = 0.0;
  for (var i = 0u; i < params.n; i++) {
    let t = i * D + j;
    let f = lat[t];
    let g = gf[t];
    var d = 0.0;
    if (f != 0.0) {
      d = g + l1;
      fired = 1.0;
      nnz += 1.0;
      f_sum += f;
    }
    if (KIND == 2u && abs(pre[t] - theta) < half_eps) {
      g_theta += -(theta / params.eps) * g + l0_step;
    }
    if (params.has_aux != 0u && aux_lat[t] > 0.0) { d += aux_gf[t]; }
    d_pre[t] = d;
    gb += d;
  }
  var extra = 0.0;
  if (KIND == 0u && f_sum != 0.0 && norm != 0.0) { extra = params.lambda / n * f_sum / norm; }
  if (KIND == 2u) { extra = theta * g_theta; }
  out[j] = gb;
  out[D + j] = extra;
  out[2u * D + 3u * j] = fired;
  out[2u * D + 3u * j + 1u] = nnz;
  out[2u * D + 3u * j + 2u] = f_sum * norm;
}
