// One Adam step with bias correction, one thread per element; c1 = 1 − β1^t and c2 = 1 − β2^t come
// from the host in float64, and so do 1 − β1 and 1 − β2 (1 − 0.999 in float32 is off by 1.3e-5). New moments and parameter go to new
// buffers, so a step that fails validation leaves the old state intact.
struct Params { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, c1: f32, c2: f32, one_minus_beta1: f32, one_minus_beta2: f32 }

@group(0) @binding(0) var<storage, read> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> m_in: array<f32>;
@group(0) @binding(3) var<storage, read> v_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> param_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> m_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> v_out: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  let g = grad[i];
  let m = params.beta1 * m_in[i] + params.one_minus_beta1 * g;
  let v = params.beta2 * v_in[i] + params.one_minus_beta2 * g * g;
  m_out[i] = m;
  v_out[i] = v;
  param_out[i] = param[i] - (params.lr * (m / params.c1)) / (sqrt(v / params.c2) + params.eps);
}
