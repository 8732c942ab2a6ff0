// Attention-pattern probes (Backend.patternProbe), one invocation per causal query row (ROWS) or
// per (head, line) (LINES). No workgroup memory and no barriers: on SwiftShader (the WebGPU of the
// tests and CI) a barrier costs ~30 µs per 64-thread workgroup, so a workgroup-per-row sort would
// spend 4096 rows × ~75 barriers per layer waiting. See pattern-probe.ts for the measured costs.
//
// ROWS, for query row i of head h (n = i + 1 keys, x_j ≥ 0, total = Σ x_j):
//   one pass over the keys, by distance d = i − j ascending, one locality bucket at a time: total,
//           Σ x ln x (entropy = ln total − Σ x ln x / total, Kahan-summed), sink mass, mean
//           distance, locality, a 64-bin (count, mass) histogram over the float exponent (bin_of;
//           non-negative floats order like their u32 bits, so every bin is a key interval), and a
//           private min-heap of the HK (≤ 64) largest values;
//   the heap is heapsorted: top-k coverage for k ≤ HK and every k90/95/99 reached within the top HK
//           come from its prefix sums;
//   the rest (k > HK, thresholds of diffuse rows) is located in the histogram by a walk over its
//           cumulative (count, mass); inside the crossing bin `select_in` refines the key interval
//           by 64-bin sub-histograms (one pass each) until it holds ≤ NCOL elements, which are
//           collected and insertion-sorted, or a single value.
//   k counts the fewest largest elements whose mass reaches (thr − 1e−6)·total, as the CPU reference.
// LINES: thread (h, kind, j) sums column j (kind 0) or diagonal o = j (kind 1) of head h.

const WG: u32 = 64u;
const NK: u32 = 1u;
const NB: u32 = 10u;
const F: u32 = 16u;
const NBIN: u32 = 64u;
const NCOL: u32 = 32u;
// Heap of the largest values: min(largest k, 64), at least 1.
const HK: u32 = 64u;
// KS (the top-k sizes, ascending) is written over this line by pattern-probe.ts.
const KS = array<u32, 1>(1u);

struct Params {
  n_heads: u32,
  t: u32,
  n_sink: u32,
  // Invocations wanted: n_heads · t (ROWS) or n_heads · 2 · t (LINES).
  count: u32,
}

// #if FROM_SCORES
// Raw attention scores and per-row (m, 1/l) from the attention pass (its SCORES variant): the
// first pass turns each score s into exp(s − m)·(1/l), the probability the attention pass would
// have written (exactly 0 for a key outside a sliding window, stored as a score ≤ −1e38), and
// stores it in place for the later passes and the line sums.
@group(0) @binding(0) var<storage, read_write> probs: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> norm: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
// #else
@group(0) @binding(0) var<storage, read> probs: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
// #endif

// #if ROWS
var<private> h_cnt: array<u32, NBIN>;
var<private> h_mass: array<f32, NBIN>;
var<private> s_cnt: array<u32, NBIN>;
var<private> s_mass: array<f32, NBIN>;
var<private> col: array<f32, NCOL>;
var<private> loc: array<f32, NB>;
var<private> heap: array<f32, HK>;

struct Sel {
  count: u32,
  mass: f32,
}

// The largest elements of row [base, base + n) among those whose key (bits) lies in [lo0, hi0),
// cnt0 of them: with by_mass false exactly need_c of them; with by_mass true the fewest whose mass
// reaches need_m (all of them when rounding leaves it unreached). Returns their count and mass.
fn select_in(base: u32, n: u32, lo0: u32, hi0: u32, cnt0: u32, by_mass: bool, need_c0: u32, need_m0: f32) -> Sel {
  var lo = lo0;
  var hi = hi0;
  var cnt = cnt0;
  var need_c = need_c0;
  var need_m = need_m0;
  var acc_c = 0u;
  var acc_m = 0.0;
  loop {
    if (cnt <= NCOL || hi - lo <= 1u) {
      break;
    }
    let width = hi - lo;
    let sh = u32(max(i32(firstLeadingBit(width - 1u)) - 5, 0));
    let nbins = ((width - 1u) >> sh) + 1u;
    for (var b = 0u; b < nbins; b++) {
      s_cnt[b] = 0u;
      s_mass[b] = 0.0;
    }
    for (var j = 0u; j < n; j++) {
      let x = probs[base + j];
      let key = bitcast<u32>(x);
      if (key >= lo && key < hi) {
        let b = (key - lo) >> sh;
        s_cnt[b] += 1u;
        s_mass[b] += x;
      }
    }
    // Walk the sub-bins from the top; the lowest one takes whatever rounding left.
    var b = nbins - 1u;
    loop {
      let c = s_cnt[b];
      let m = s_mass[b];
      let crossing = select(c >= need_c, m >= need_m, by_mass);
      if (crossing || b == 0u) {
        break;
      }
      need_c -= c;
      need_m -= m;
      acc_c += c;
      acc_m += m;
      b -= 1u;
    }
    let nlo = lo + (b << sh);
    hi = min(nlo + (1u << sh), hi);
    lo = nlo;
    cnt = s_cnt[b];
  }
  if (cnt == 0u) {
    return Sel(acc_c, acc_m);
  }
  if (hi - lo <= 1u) {
    // cnt copies of one value v.
    let v = bitcast<f32>(lo);
    var r = need_c;
    if (by_mass) {
      r = cnt;
      if (v > 0.0) {
        r = clamp(u32(ceil(need_m / v)), 1u, cnt);
      }
    }
    return Sel(acc_c + r, acc_m + f32(r) * v);
  }
  // Few enough: collect and insertion-sort descending.
  var m = 0u;
  for (var j = 0u; j < n && m < NCOL; j++) {
    let x = probs[base + j];
    let key = bitcast<u32>(x);
    if (key >= lo && key < hi) {
      var p = m;
      while (p > 0u && col[p - 1u] < x) {
        col[p] = col[p - 1u];
        p -= 1u;
      }
      col[p] = x;
      m += 1u;
    }
  }
  var r = 0u;
  var s = 0.0;
  loop {
    if (r >= m) {
      break;
    }
    if (!by_mass && r >= need_c) {
      break;
    }
    s += col[r];
    r += 1u;
    if (by_mass && s >= need_m) {
      break;
    }
  }
  return Sel(acc_c + r, acc_m + s);
}

// Histogram bin of a value: its float exponent e counted down from 1.0 (bin 0: x ≥ 1, bin b:
// e = 127 − b, bin 63: x < 2^−62 and zeros). Absolute rather than relative to the row's max, so the
// histogram is built in the same pass that finds the total; still exact for any non-negative input
// (bins are key intervals; bin 0 may be wide, which select_in's refinement handles).
fn bin_of(x: f32) -> u32 {
  let e = bitcast<u32>(x) >> 23u;
  return select(min(127u - e, NBIN - 1u), 0u, e >= 127u);
}

// Key interval [lo, hi) of histogram bin b.
fn bin_lo(b: u32) -> u32 {
  if (b == NBIN - 1u) {
    return 0u;
  }
  return select((127u - b) << 23u, 127u << 23u, b == 0u);
}

fn bin_hi(b: u32) -> u32 {
  if (b == 0u) {
    return 0x7f800001u;
  }
  return (128u - b) << 23u;
}

// Min-heap of the largest HK values seen (root = smallest kept); heapsorted descending later.
fn heap_sift_down(v: f32, len: u32) {
  var p = 0u;
  loop {
    var c = 2u * p + 1u;
    if (c >= len) {
      break;
    }
    if (c + 1u < len && heap[c + 1u] < heap[c]) {
      c += 1u;
    }
    if (heap[c] >= v) {
      break;
    }
    heap[p] = heap[c];
    p = c;
  }
  heap[p] = v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.count) {
    return;
  }
  let t = params.t;
  let i = idx % t;
  let n = i + 1u;
  let base = idx * t;
  let o = idx * F;

  // One pass over the row: total, Σ x ln x (entropy = ln total − Σ x ln x / total, Kahan-summed:
  // a plain f32 sum of 512 terms drifts by ~1e-5 relative), sink, distance, locality, the
  // exponent histogram and the top-HK heap.
  for (var b = 0u; b < NB; b++) {
    loc[b] = 0.0;
  }
  for (var b = 0u; b < NBIN; b++) {
    h_cnt[b] = 0u;
    h_mass[b] = 0.0;
  }
  var total = 0.0;
  var ent = 0.0;
  var ent_c = 0.0;
  var dist = 0.0;
  var sink = 0.0;
  var m = 0u;
  // Keys by distance d = i − j ascending, one locality bucket (a contiguous d range) at a time:
  // no per-element private indexing for the locality, and attention that favours recent keys
  // fills the heap with large values early, so later elements rarely beat its root.
  // #if FROM_SCORES
  let row_m = norm[idx * 2u];
  let row_inv = norm[idx * 2u + 1u];
  // #endif
  var dlo = 0u;
  for (var lb = 0u; lb < NB && dlo <= i; lb++) {
    let dhi = select(min(i, 2u * dlo - 1u), 0u, lb == 0u);
    var ls = 0.0;
    for (var d = dlo; d <= dhi; d++) {
      let j = i - d;
      // #if FROM_SCORES
      // A key outside a sliding window holds attention.wgsl's MASKED (−3e38): exactly 0.
      let sc = probs[base + j];
      let x = select(0.0, exp(sc - row_m) * row_inv, sc > -1.0e38);
      probs[base + j] = x;
      // #else
      let x = probs[base + j];
      // #endif
      total += x;
      ls += x;
      if (x > 0.0) {
        let y = x * log(x) - ent_c;
        let s = ent + y;
        ent_c = (s - ent) - y;
        ent = s;
        dist += x * f32(d);
      }
      if (j < params.n_sink) {
        sink += x;
      }
      let hb = bin_of(x);
      h_cnt[hb] += 1u;
      h_mass[hb] += x;
      if (m < HK) {
        // Sift up.
        var c = m;
        loop {
          if (c == 0u) {
            break;
          }
          let p = (c - 1u) / 2u;
          if (heap[p] <= x) {
            break;
          }
          heap[c] = heap[p];
          c = p;
        }
        heap[c] = x;
        m += 1u;
      } else if (x > heap[0]) {
        heap_sift_down(x, HK);
      }
    }
    loc[lb] = ls;
    dlo = dhi + 1u;
  }
  let inv = 1.0 / total;
  out[o] = log(total) - ent * inv;
  out[o + 1u] = sink * inv;
  out[o + 2u] = dist * inv;
  for (var b = 0u; b < NB; b++) {
    out[o + 6u + NK + b] = loc[b] * inv;
  }
  var tb = 0.0;
  for (var b = 0u; b < NBIN; b++) {
    tb += h_mass[b];
  }
  // Heapsort: repeatedly move the root (smallest kept) to the end: heap[0..m) ends descending.
  for (var e = m - 1u; e > 0u; e--) {
    let v = heap[e];
    heap[e] = heap[0];
    heap_sift_down(v, e);
  }

  // Top-k coverage from the sorted heap; ks beyond it from the exponent histogram.
  var cum = 0.0;
  var r = 0u;
  var b = 0u;
  var cum_c = 0u;
  var cum_m = 0.0;
  for (var q = 0u; q < NK; q++) {
    let k = KS[q];
    if (k >= n) {
      out[o + 6u + q] = 1.0;
      continue;
    }
    if (k <= m) {
      while (r < k) {
        cum += heap[r];
        r += 1u;
      }
      out[o + 6u + q] = min(1.0, cum * inv);
      continue;
    }
    while (cum_c + h_cnt[b] < k) {
      cum_c += h_cnt[b];
      cum_m += h_mass[b];
      b += 1u;
    }
    let sel = select_in(base, n, bin_lo(b), bin_hi(b), h_cnt[b], false, k - cum_c, 0.0);
    out[o + 6u + q] = min(1.0, (cum_m + sel.mass) / tb);
  }

  // k90 / k95 / k99: the sorted heap first; beyond it one walk over the histogram's bins.
  cum = 0.0;
  r = 0u;
  b = 0u;
  cum_c = 0u;
  cum_m = 0.0;
  for (var q = 0u; q < 3u; q++) {
    let thr = select(select(0.99, 0.95, q == 1u), 0.9, q == 0u);
    let goal = (thr - 1e-6) * total;
    while (r < m && cum < goal) {
      cum += heap[r];
      r += 1u;
    }
    if (cum >= goal) {
      out[o + 3u + q] = f32(r);
      continue;
    }
    if (m == n) {
      out[o + 3u + q] = f32(n);
      continue;
    }
    let goal_h = (thr - 1e-6) * tb;
    while (b < NBIN && cum_m + h_mass[b] < goal_h) {
      cum_c += h_cnt[b];
      cum_m += h_mass[b];
      b += 1u;
    }
    var kq = n;
    if (b < NBIN) {
      let sel = select_in(base, n, bin_lo(b), bin_hi(b), h_cnt[b], true, 0u, goal_h - cum_m);
      kq = min(cum_c + sel.count, n);
    }
    out[o + 3u + q] = f32(kq);
  }
}
// #else
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.count) {
    return;
  }
  let t = params.t;
  let h = idx / (2u * t);
  let r = idx % (2u * t);
  let j = r % t;
  let head = h * t * t;
  var s = 0.0;
  if (r < t) {
    for (var i = j; i < t; i++) {
      s += probs[head + i * t + j];
    }
  } else {
    for (var i = j; i < t; i++) {
      s += probs[head + i * t + i - j];
    }
  }
  out[idx] = s;
}
// #endif
