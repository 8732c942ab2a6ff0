// Row-wise top-k, exact and deterministic: candidates are ordered by value descending, then by
// column ascending, a total order, so the result does not depend on the order they are visited.
// No workgroup memory and no barriers (SwiftShader, the CPU adapter of the tests, runs barriers
// very slowly). topk.ts picks one of two programs:
//   - INSERT (k ≤ 256): one invocation per (row, chunk) keeps the top-K of its candidates in a
//     binary heap in private memory, then heapsorts it. With SCRATCH the candidates are the
//     per-chunk lists of a first pass, as (value, column) pairs.
//   - RANK (larger k): one invocation per element counts the elements that come before it; if
//     that rank is below K it is the element's output position. O(cols²) per row.
// K, WG and the flags are set by topk.ts.

const K: u32 = 8u;
const WG: u32 = 64u;

struct Params {
  rows: u32,
  // Candidates per row of the source.
  cols: u32,
  // Chunks per row (INSERT) and candidates per chunk.
  chunks: u32,
  chunk_len: u32,
  // −inf, which WGSL cannot write as a constant.
  neg_inf: f32,
}

@group(0) @binding(0) var<storage, read> src_values: array<f32>;
// #if SCRATCH
@group(0) @binding(1) var<storage, read> src_indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> dst_values: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst_indices: array<i32>;
@group(0) @binding(4) var<uniform> params: Params;
// #else
@group(0) @binding(1) var<storage, read_write> dst_values: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst_indices: array<i32>;
@group(0) @binding(3) var<uniform> params: Params;
// #endif

const EMPTY: i32 = 0x7fffffff;

// Does (va, ia) come before (vb, ib)?
fn before(va: f32, ia: i32, vb: f32, ib: i32) -> bool {
  return va > vb || (va == vb && ia < ib);
}

// The running top-K as a binary heap whose root is its worst entry: every child comes before its
// parent, so a candidate only has to beat the root, and takes log2(K) steps to settle.
var<private> heap_v: array<f32, K>;
var<private> heap_i: array<i32, K>;

// Put (v, i) at the root of the first n slots and move it down to its place.
fn sift_down(v: f32, i: i32, n: u32) {
  var p = 0u;
  loop {
    var c = 2u * p + 1u;
    if (c >= n) {
      break;
    }
    // The worse child: the one the other comes before.
    if (c + 1u < n && before(heap_v[c], heap_i[c], heap_v[c + 1u], heap_i[c + 1u])) {
      c += 1u;
    }
    if (!before(v, i, heap_v[c], heap_i[c])) {
      break;
    }
    heap_v[p] = heap_v[c];
    heap_i[p] = heap_i[c];
    p = c;
  }
  heap_v[p] = v;
  heap_i[p] = i;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = gid.x + gid.y * nwg.x * WG;
  // #if INSERT
  if (id >= params.rows * params.chunks) {
    return;
  }
  let row = id / params.chunks;
  let chunk = id % params.chunks;
  let start = chunk * params.chunk_len;
  let end = min(start + params.chunk_len, params.cols);
  let base = row * params.cols;

  // Empty slots hold (−inf, i32 max), which every real candidate comes before.
  for (var p = 0u; p < K; p++) {
    heap_v[p] = params.neg_inf;
    heap_i[p] = EMPTY;
  }
  for (var c = start; c < end; c++) {
    let val = src_values[base + c];
    // #if SCRATCH
    let col = src_indices[base + c];
    // #else
    let col = i32(c);
    // #endif
    if (before(val, col, heap_v[0], heap_i[0])) {
      sift_down(val, col, K);
    }
  }
  // Heapsort in place: the root (worst) goes to the end, so the list ends up best first.
  for (var e = K - 1u; e > 0u; e--) {
    let last_v = heap_v[e];
    let last_i = heap_i[e];
    heap_v[e] = heap_v[0];
    heap_i[e] = heap_i[0];
    sift_down(last_v, last_i, e);
  }
  let o = id * K;
  for (var p = 0u; p < K; p++) {
    dst_values[o + p] = heap_v[p];
    dst_indices[o + p] = heap_i[p];
  }
  // #else
  if (id >= params.rows * params.cols) {
    return;
  }
  let row = id / params.cols;
  let col = i32(id % params.cols);
  let base = row * params.cols;
  let val = src_values[id];
  var rank = 0u;
  for (var c = 0u; c < params.cols; c++) {
    rank += select(0u, 1u, before(src_values[base + c], i32(c), val, col));
  }
  if (rank < K) {
    dst_values[row * K + rank] = val;
    dst_indices[row * K + rank] = col;
  }
  // #endif
}
