// Causal grouped-query attention: one invocation per (query row, head) runs an online softmax
// (running max m, rescaled sum l) over its visible keys lo..pos0+i (lo = pos0+i−window+1 under a
// sliding window, else 0; keys before lo are never visited), with the head's HD output
// accumulators in registers. Scores are q·k·scale (q pre-scaled), soft-capped to
// cap·tanh(s/cap) in the SOFTCAP variant. No workgroup memory and no barriers: SwiftShader (the
// CPU adapter of the tests) runs barriers very slowly, and on a real GPU this is the classic
// flash-decoding inner loop.
// Adjacent invocations are the heads of one query row, so they loop over the same number of keys
// and heads of a group read the same K/V rows.
// attention.ts sets HD, WG, W (4 when HD is a multiple of 4: q/k/v/out are read as vec4) and the
// PROBS, SCORES, SOFTCAP, STATS and VEC4 blocks. SCORES (within PROBS) stores each raw score as
// the sweep computes it, and (m, 1/l) per row, instead of a second sweep writing the
// probabilities: the pattern probe turns them into exactly the probabilities that sweep would
// write (keys before the window get the MASKED sentinel, which the probe turns into an exact 0),
// and on SwiftShader a store costs far less than recomputing the score (≈ +25 against ≈ +120 ms
// for stories260K's five layers). STATS accumulates, beside the online softmax, Σ e^(s−m)·s (for the
// entropy log l + m − Σ p·s), Σ e^(s−m)·(i − j) (mean distance) and e^(s₀−m) (sink mass), all
// rescaled with l when the maximum moves: row statistics without storing the row.
// RET_SCORES (returnScores, any variant) stores each score, as the softmax consumes it, into
// `scores` as it is computed, then −∞ for every key the row does not see (before the window,
// after the query, the KV-cache tail). That buffer is u32 (float bits): −∞ is written as its bit
// pattern 0xff800000, since WGSL implementations need not honour infinities in float arithmetic.
// With PROBS (not SCORES) the second sweep then reads the stored scores instead of recomputing.

const HD: u32 = 64u;
const WG: u32 = 64u;
const W: u32 = 4u;
const HV: u32 = HD / W;

// #if VEC4
alias vec = vec4<f32>;
fn vdot(a: vec, b: vec) -> f32 {
  return dot(a, b);
}
// #else
alias vec = f32;
fn vdot(a: vec, b: vec) -> f32 {
  return a * b;
}
// #endif

struct Params {
  t: u32,
  n_heads: u32,
  group: u32,
  pos0: u32,
  q_dim: u32,
  kv_dim: u32,
  tk: u32,
  scale: f32,
  // Soft-cap (SOFTCAP only) and the sliding window (≥ pos0 + t when there is none).
  cap: f32,
  window: u32,
}

@group(0) @binding(0) var<storage, read> q: array<vec>;
@group(0) @binding(1) var<storage, read> k: array<vec>;
@group(0) @binding(2) var<storage, read> v: array<vec>;
@group(0) @binding(3) var<storage, read_write> out: array<vec>;
// Binding numbers follow the buffers present (attention.ts sets them): q, k, v, out, then probs
// (PROBS), norm (SCORES), stats (STATS), scores (RET_SCORES), then the uniforms.
const B_NORM: u32 = 5u;
const B_STATS: u32 = 5u;
const B_SCORES: u32 = 5u;
const B_PARAMS: u32 = 4u;
// #if PROBS
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
// #endif
// #if SCORES
// Per row (m, 1/l): what turns a stored score s into its probability exp(s − m)·(1/l).
@group(0) @binding(B_NORM) var<storage, read_write> norm: array<f32>;
// #endif
// #if STATS
@group(0) @binding(B_STATS) var<storage, read_write> stats: array<f32>;
// #endif
// #if RET_SCORES
// [nHeads, T, Tk] scores as f32 bits (see RET_SCORES above).
@group(0) @binding(B_SCORES) var<storage, read_write> scores: array<u32>;
// #endif
@group(0) @binding(B_PARAMS) var<uniform> params: Params;

// This invocation's query, pre-scaled by params.scale (default 1/sqrt(HD)).
var<private> qs: array<vec, HV>;

// Raw score stored for a key outside the window in the SCORES variant (pattern-probe.wgsl's
// FROM_SCORES turns any score ≤ −1e38 into an exact 0).
const MASKED: f32 = -3.0e38;
// The bits of −∞: a returned score of a masked key (RET_SCORES).
const NEG_INF_BITS: u32 = 0xff800000u;

// #if SOFTCAP
// cap·tanh(s/cap) with tanh from exp(−2|x|): no overflow for any s (a built-in tanh may compute
// sinh/cosh and give NaN for large arguments); absolute error ≈ cap·1e−7.
fn softcap(s: f32) -> f32 {
  let x = s / params.cap;
  let e = exp(-2.0 * abs(x));
  return params.cap * sign(x) * (1.0 - e) / (1.0 + e);
}
fn softcap4(s: vec4<f32>) -> vec4<f32> {
  let x = s / params.cap;
  let e = exp(-2.0 * abs(x));
  return params.cap * sign(x) * (vec4<f32>(1.0) - e) / (vec4<f32>(1.0) + e);
}
// #else
fn softcap(s: f32) -> f32 {
  return s;
}
fn softcap4(s: vec4<f32>) -> vec4<f32> {
  return s;
}
// #endif

// Score of the key row starting at ko (in vecs).
fn score(ko: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < HV; d++) {
    s += vdot(qs[d], k[ko + d]);
  }
  return softcap(s);
}

// Scores of the four key rows starting at ko, ko + stride, ko + 2·stride, ko + 3·stride.
fn score4(ko: u32, stride: u32) -> vec4<f32> {
  var s = vec4<f32>();
  for (var d = 0u; d < HV; d++) {
    let qd = qs[d];
    s += vec4<f32>(
      vdot(qd, k[ko + d]),
      vdot(qd, k[ko + stride + d]),
      vdot(qd, k[ko + 2u * stride + d]),
      vdot(qd, k[ko + 3u * stride + d]),
    );
  }
  return softcap4(s);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = gid.x + gid.y * nwg.x * WG;
  if (id >= params.t * params.n_heads) {
    return;
  }
  let i = id / params.n_heads;
  let h = id % params.n_heads;
  // Offsets in units of vec.
  let qo = (i * params.q_dim + h * HD) / W;
  let kvo = (h / params.group) * HV;
  let stride = params.kv_dim / W;
  // Visible keys lo..n−1: the query's own position and the window − 1 before it.
  let n = params.pos0 + i + 1u;
  let lo = select(0u, n - params.window, n > params.window);

  for (var d = 0u; d < HV; d++) {
    qs[d] = q[qo + d] * params.scale;
  }
  // Key lo starts the running state (every query sees at least itself).
  let ko0 = lo * stride + kvo;
  var m = score(ko0);
  var l = 1.0;
  let srow = (h * params.t + i) * params.tk;
  // #if SCORES
  probs[srow + lo] = m;
  // #endif
  // #if RET_SCORES
  scores[srow + lo] = bitcast<u32>(m);
  // #endif
  // #if STATS
  var sa = m;
  var sd = f32(n - 1u - lo);
  var e0 = select(0.0, 1.0, lo == 0u);
  // #endif
  var acc: array<vec, HV>;
  for (var d = 0u; d < HV; d++) {
    acc[d] = v[ko0 + d];
  }
  // Keys in blocks of 4: one max test (and rarely a rescale) per block instead of per key.
  var j = lo + 1u;
  for (; j + 4u <= n; j += 4u) {
    let ko = j * stride + kvo;
    let s = score4(ko, stride);
    // #if SCORES
    probs[srow + j] = s.x;
    probs[srow + j + 1u] = s.y;
    probs[srow + j + 2u] = s.z;
    probs[srow + j + 3u] = s.w;
    // #endif
    // #if RET_SCORES
    scores[srow + j] = bitcast<u32>(s.x);
    scores[srow + j + 1u] = bitcast<u32>(s.y);
    scores[srow + j + 2u] = bitcast<u32>(s.z);
    scores[srow + j + 3u] = bitcast<u32>(s.w);
    // #endif
    let mx = max(max(s.x, s.y), max(s.z, s.w));
    if (mx > m) {
      // A new maximum: rescale what was summed so far.
      let c = exp(m - mx);
      l *= c;
      // #if STATS
      sa *= c;
      sd *= c;
      e0 *= c;
      // #endif
      for (var d = 0u; d < HV; d++) {
        acc[d] *= c;
      }
      m = mx;
    }
    let p = exp(s - vec4<f32>(m));
    l += p.x + p.y + p.z + p.w;
    // #if STATS
    sa += dot(p, s);
    let dj = f32(n - 1u - j);
    sd += dot(p, vec4<f32>(dj, dj - 1.0, dj - 2.0, dj - 3.0));
    // #endif
    for (var d = 0u; d < HV; d++) {
      acc[d] += p.x * v[ko + d] + p.y * v[ko + stride + d] + p.z * v[ko + 2u * stride + d] +
        p.w * v[ko + 3u * stride + d];
    }
  }
  for (; j < n; j++) {
    let ko = j * stride + kvo;
    let s = score(ko);
    // #if SCORES
    probs[srow + j] = s;
    // #endif
    // #if RET_SCORES
    scores[srow + j] = bitcast<u32>(s);
    // #endif
    if (s > m) {
      let c = exp(m - s);
      l *= c;
      // #if STATS
      sa *= c;
      sd *= c;
      e0 *= c;
      // #endif
      for (var d = 0u; d < HV; d++) {
        acc[d] *= c;
      }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    // #if STATS
    sa += p * s;
    sd += p * f32(n - 1u - j);
    // #endif
    for (var d = 0u; d < HV; d++) {
      acc[d] += p * v[ko + d];
    }
  }
  let inv = 1.0 / l;
  for (var d = 0u; d < HV; d++) {
    out[qo + d] = acc[d] * inv;
  }
  // #if STATS
  let so = (h * params.t + i) * 3u;
  stats[so] = log(l) + m - sa * inv;
  stats[so + 1u] = e0 * inv;
  stats[so + 2u] = sd * inv;
  // #endif

  // #if RET_SCORES
  for (var c = 0u; c < lo; c++) {
    scores[srow + c] = NEG_INF_BITS;
  }
  for (var c = n; c < params.tk; c++) {
    scores[srow + c] = NEG_INF_BITS;
  }
  // #endif

  // #if SCORES
  norm[(h * params.t + i) * 2u] = m;
  norm[(h * params.t + i) * 2u + 1u] = inv;
  for (var c = 0u; c < lo; c++) {
    probs[srow + c] = MASKED;
  }
  // #else
  // #if PROBS
  // Second sweep, for a caller who asked for the pattern: recompute each score (or, with
  // RET_SCORES, read it back) and write the final probabilities, then exact zeros for the masked
  // keys and any extra KV-cache rows.
  let row = (h * params.t + i) * params.tk;
  var c = 0u;
  for (; c < lo; c++) {
    probs[row + c] = 0.0;
  }
  // #if RET_SCORES
  for (; c < n; c++) {
    probs[row + c] = exp(bitcast<f32>(scores[row + c]) - m) * inv;
  }
  // #else
  for (; c + 4u <= n; c += 4u) {
    let p = exp(score4(c * stride + kvo, stride) - vec4<f32>(m)) * inv;
    probs[row + c] = p.x;
    probs[row + c + 1u] = p.y;
    probs[row + c + 2u] = p.z;
    probs[row + c + 3u] = p.w;
  }
  for (; c < n; c++) {
    probs[row + c] = exp(score(c * stride + kvo) - m) * inv;
  }
  // #endif
  for (; c < params.tk; c++) {
    probs[row + c] = 0.0;
  }
  // #endif
  // #endif
}
