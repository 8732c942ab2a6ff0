// SAE encoder stages (sae-encode.ts runs them; the matmuls x·W_enc and b_dec·W_enc run before):
//   BIAS:    pre = xw + b_enc − bw (b_dec folded into one row), then the activation by KIND
//            (0 relu, 1 topk: latents zeroed for SCATTER, 2 jumprelu with θ = exp(log θ)).
//   MASK:    masked = pre where dead[j] ≠ 0, else −inf; latents zeroed (AuxK selection).
//   SCATTER: latents[i, idx] = value where value > 0, for the k chosen (value, idx) of each row.
const KIND: u32 = 0u;

struct Params { n: u32, cols: u32, k: u32, neg_inf: f32 }

// #if BIAS
@group(0) @binding(0) var<storage, read> xw: array<f32>;
@group(0) @binding(1) var<storage, read> bw: array<f32>;
@group(0) @binding(2) var<storage, read> b_enc: array<f32>;
@group(0) @binding(3) var<storage, read> log_theta: array<f32>;
@group(0) @binding(4) var<storage, read_write> pre: array<f32>;
@group(0) @binding(5) var<storage, read_write> latents: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;
// #endif
// #if MASK
@group(0) @binding(0) var<storage, read> pre: array<f32>;
@group(0) @binding(1) var<storage, read> dead: array<i32>;
@group(0) @binding(2) var<storage, read_write> masked: array<f32>;
@group(0) @binding(3) var<storage, read_write> latents: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
// #endif
// #if SCATTER
@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> latents: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
// #endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  // #if BIAS
  let j = i % params.cols;
  let p = xw[i] + (b_enc[j] - bw[j]);
  pre[i] = p;
  if (KIND == 0u) {
    latents[i] = max(p, 0.0);
  } else if (KIND == 2u) {
    latents[i] = select(0.0, p, p > exp(log_theta[j]));
  } else {
    latents[i] = 0.0;
  }
  // #endif
  // #if MASK
  masked[i] = select(params.neg_inf, pre[i], dead[i % params.cols] != 0);
  latents[i] = 0.0;
  // #endif
  // #if SCATTER
  // i runs over the [rows, k] choices.
  let v = values[i];
  if (v > 0.0) {
    let row = i / params.k;
    latents[row * params.cols + u32(indices[i])] = v;
  }
  // #endif
}
