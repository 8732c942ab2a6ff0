// Flash-style causal grouped-query attention for long windows (attention.ts picks it; the
// row-per-invocation kernel in attention.wgsl is its reference and covers every other case).
// A workgroup takes BQ consecutive queries of one head; each invocation owns one query row. The
// keys the block sees are walked in tiles of BK rows: the workgroup loads a tile of K and V into
// workgroup memory once (coalesced vec4 reads), every invocation scores its query against the tile
// from there, and folds the tile into its online softmax (running max m, rescaled sum l, HD
// accumulators) with one rescale per tile. K and V are read from global memory once per block of
// BQ queries instead of once per query.
// Scores are q·k·scale (q pre-scaled), soft-capped in the SOFTCAP variant; the sliding window
// (≥ pos0 + t when there is none) and causality are per query, masked inside a tile.
// Needs HD % 4 == 0; attention.ts sets HD, BQ (= the workgroup size), BK and SOFTCAP.

const HD: u32 = 64u;
const BQ: u32 = 64u;
const BK: u32 = 32u;
const HV: u32 = HD / 4u;

struct Params {
  t: u32,
  n_heads: u32,
  group: u32,
  pos0: u32,
  q_dim: u32,
  kv_dim: u32,
  tk: u32,
  scale: f32,
  cap: f32,
  window: u32,
}

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> kt: array<vec4<f32>, BK * HV>;
var<workgroup> vt: array<vec4<f32>, BK * HV>;

// #if SOFTCAP
// cap·tanh(s/cap) from exp(−2|x|), as attention.wgsl computes it.
fn softcap(s: f32) -> f32 {
  let x = s / params.cap;
  let e = exp(-2.0 * abs(x));
  return params.cap * sign(x) * (1.0 - e) / (1.0 + e);
}
// #else
fn softcap(s: f32) -> f32 {
  return s;
}
// #endif

@compute @workgroup_size(BQ)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Workgroups: head-major over query blocks, spread over x and y.
  let flat = wid.x + wid.y * nwg.x;
  let blocks = (params.t + BQ - 1u) / BQ;
  let h = flat / blocks;
  let i0 = (flat % blocks) * BQ;
  if (h >= params.n_heads) {
    return; // uniform across the workgroup: no barrier is skipped by only some invocations
  }
  let i = i0 + lid;
  let live = i < params.t;
  let stride = params.kv_dim / 4u;
  let kvo = (h / params.group) * HV;
  // This query's visible keys lo..n−1; the block's union is blockLo..blockN−1.
  let n = params.pos0 + min(i, params.t - 1u) + 1u;
  let lo = select(0u, n - params.window, n > params.window);
  let lastN = params.pos0 + min(i0 + BQ, params.t);
  let firstN = params.pos0 + i0 + 1u;
  let blockLo = select(0u, firstN - params.window, firstN > params.window);

  var qs: array<vec4<f32>, HV>;
  var acc: array<vec4<f32>, HV>;
  let qo = (min(i, params.t - 1u) * params.q_dim + h * HD) / 4u;
  for (var d = 0u; d < HV; d++) {
    qs[d] = q[qo + d] * params.scale;
    acc[d] = vec4<f32>(0.0);
  }
  var m = -3.0e38;
  var l = 0.0;
  var s: array<f32, BK>;

  for (var j0 = blockLo; j0 < lastN; j0 += BK) {
    // Load keys j0..j0+BK−1 (rows past the block's last key are zeros, never used).
    for (var e = lid; e < BK * HV; e += BQ) {
      let r = e / HV;
      let d = e % HV;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (j0 + r < lastN) {
        let o = (j0 + r) * stride + kvo + d;
        kv = k[o];
        vv = v[o];
      }
      kt[e] = kv;
      vt[e] = vv;
    }
    workgroupBarrier();
    // Scores of the visible keys of this tile, and their maximum.
    let a = max(j0, lo);
    let b = min(j0 + BK, n);
    var mx = m;
    for (var j = a; j < b; j++) {
      let r = (j - j0) * HV;
      var dotv = vec4<f32>(0.0);
      for (var d = 0u; d < HV; d++) {
        dotv += qs[d] * kt[r + d];
      }
      let sc = softcap(dotv.x + dotv.y + dotv.z + dotv.w);
      s[j - j0] = sc;
      mx = max(mx, sc);
    }
    if (a < b) {
      let c = exp(m - mx);
      l *= c;
      for (var d = 0u; d < HV; d++) {
        acc[d] *= c;
      }
      m = mx;
      for (var j = a; j < b; j++) {
        let p = exp(s[j - j0] - m);
        l += p;
        let r = (j - j0) * HV;
        for (var d = 0u; d < HV; d++) {
          acc[d] += p * vt[r + d];
        }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let inv = 1.0 / l;
    for (var d = 0u; d < HV; d++) {
      out[qo + d] = acc[d] * inv;
    }
  }
}
