// Matmul: out [M, N] = a × b, with a [M, K] or, when TRANS_A, a [K, M] (weight gradients, Xᵀ·dY),
// and b [K, N] or, when TRANS_B, b [N, K] (a weight matrix, the hot path). Three kernels share the bindings; matmul.ts picks one by adapter and shape and
// keeps its call below (flags TILED, DIRECT, GEMV):
// - tiled:  shared-memory tiles, a workgroup of SN × SM threads per (4·SM) × (4·SN) output tile;
// - direct: no shared memory and no barriers, each thread a 4 × 4 block straight from memory
//           (CPU emulations such as SwiftShader pay dearly for barriers);
// - gemv:   M < 4 (generation), each thread a 1 × 4 block.
// With BIAS, bias [N] is added to every row in the shared epilogue (store4), before the one store.
// b may be a 16-bit weight (flag B_F16 or B_BF16: array<u32>, two values a word): every read goes
// through loadB, which decodes (kernels/weight-wgsl.ts).
struct Params { m: u32, n: u32, k: u32, tilesN: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
// #if B_F32
@group(0) @binding(1) var<storage, read> b: array<f32>;
// #else
@group(0) @binding(1) var<storage, read> b: array<u32>;
// #endif
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
// #if BIAS
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
// #else
@group(0) @binding(3) var<uniform> params: Params;
// #endif

const TRANS_A: bool = false;
const TRANS_B: bool = false;
const WG: u32 = 64u; // threads per workgroup
const SM: u32 = 8u; // tiled: thread rows (SM * SN = WG)
const SN: u32 = 8u; // tiled: thread columns
const TK: u32 = 32u; // tiled: K step

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Workgroups are numbered row-major over the output and spread over x/y (65535 per dimension).
  // #if TILED
  tiled(wid.x + wid.y * nwg.x, lid);
  // #endif
  // #if DIRECT
  direct(wid.x + wid.y * nwg.x, lid);
  // #endif
  // #if GEMV
  gemv(wid.x + wid.y * nwg.x, lid);
  // #endif
}

fn store4(row: u32, col: u32, acc: vec4<f32>) {
  if (row >= params.m) { return; }
  var v = acc;
  // #if BIAS
  // Columns past the edge (tiles that overhang N) read the last bias; their sums are not stored.
  let last = params.n - 1u;
  v += vec4<f32>(bias[min(col, last)], bias[min(col + 1u, last)], bias[min(col + 2u, last)], bias[min(col + 3u, last)]);
  // #endif
  let o = row * params.n + col;
  if (col + 3u < params.n) {
    out[o] = v.x;
    out[o + 1u] = v.y;
    out[o + 2u] = v.z;
    out[o + 3u] = v.w;
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (col + j < params.n) { out[o + j] = v[j]; }
    }
  }
}

// ---- tiled ----------------------------------------------------------------------------------

var<workgroup> tileA: array<vec4<f32>, TK * SM>; // [k][m / 4]
var<workgroup> tileB: array<vec4<f32>, TK * SN>; // [k][n / 4]

fn tiled(tile: u32, lid: u32) {
  let M = params.m;
  let N = params.n;
  let K = params.k;
  let TM = 4u * SM;
  let TN = 4u * SN;
  let m0 = (tile / params.tilesN) * TM;
  let n0 = (tile % params.tilesN) * TN;
  let ty = lid / SN;
  let tx = lid % SN;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += TK) {
    // Consecutive threads load consecutive addresses; zeros past the edges.
    for (var l = lid; l < TM * TK; l += WG) {
      let r = l / TK;
      let c = l % TK;
      var v = 0.0;
      if (m0 + r < M && k0 + c < K) {
        if (TRANS_A) { v = a[(k0 + c) * M + m0 + r]; } else { v = a[(m0 + r) * K + k0 + c]; }
      }
      tileA[c * SM + r / 4u][r % 4u] = v;
    }
    for (var l = lid; l < TN * TK; l += WG) {
      var r: u32;
      var c: u32;
      var v = 0.0;
      if (TRANS_B) {
        r = l / TK;
        c = l % TK;
        if (n0 + r < N && k0 + c < K) { v = loadB((n0 + r) * K + k0 + c); }
      } else {
        c = l / TN;
        r = l % TN;
        if (n0 + r < N && k0 + c < K) { v = loadB((k0 + c) * N + n0 + r); }
      }
      tileB[c * SN + r / 4u][r % 4u] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let av = tileA[k * SM + ty];
      let bv = tileB[k * SN + tx];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let row = m0 + 4u * ty;
  let col = n0 + 4u * tx;
  store4(row, col, acc0);
  store4(row + 1u, col, acc1);
  store4(row + 2u, col, acc2);
  store4(row + 3u, col, acc3);
}

// ---- direct ---------------------------------------------------------------------------------

// Rows and columns past the edges are clamped to the last one (valid reads, results discarded).
fn direct(group: u32, lid: u32) {
  let blocksN = (params.n + 3u) / 4u;
  let block = group * WG + lid;
  let i0 = (block / blocksN) * 4u;
  let j0 = (block % blocksN) * 4u;
  if (i0 >= params.m) { return; }
  let K = params.k;
  let N = params.n;
  let r0 = min(i0, params.m - 1u) * K;
  let r1 = min(i0 + 1u, params.m - 1u) * K;
  let r2 = min(i0 + 2u, params.m - 1u) * K;
  let r3 = min(i0 + 3u, params.m - 1u) * K;
  var o0: vec4<f32>;
  var o1: vec4<f32>;
  var o2: vec4<f32>;
  var o3: vec4<f32>;
  if (TRANS_A) {
    // a is [K, M]: the 4 rows' values at one k are contiguous; an outer product per k.
    let i1 = min(i0 + 1u, params.m - 1u);
    let i2 = min(i0 + 2u, params.m - 1u);
    let i3 = min(i0 + 3u, params.m - 1u);
    o0 = vec4<f32>(0.0);
    o1 = vec4<f32>(0.0);
    o2 = vec4<f32>(0.0);
    o3 = vec4<f32>(0.0);
    for (var p = 0u; p < K; p++) {
      let ao = p * params.m;
      let x = vec4<f32>(a[ao + i0], a[ao + i1], a[ao + i2], a[ao + i3]);
      let y = loadBRow(j0, p);
      o0 += x.x * y;
      o1 += x.y * y;
      o2 += x.z * y;
      o3 += x.w * y;
    }
  } else if (TRANS_B) {
    // Every (row, column) pair keeps a vec4 of partial sums over k mod 4.
    let s0 = min(j0, N - 1u) * K;
    let s1 = min(j0 + 1u, N - 1u) * K;
    let s2 = min(j0 + 2u, N - 1u) * K;
    let s3 = min(j0 + 3u, N - 1u) * K;
    var c00 = vec4<f32>(0.0); var c01 = vec4<f32>(0.0); var c02 = vec4<f32>(0.0); var c03 = vec4<f32>(0.0);
    var c10 = vec4<f32>(0.0); var c11 = vec4<f32>(0.0); var c12 = vec4<f32>(0.0); var c13 = vec4<f32>(0.0);
    var c20 = vec4<f32>(0.0); var c21 = vec4<f32>(0.0); var c22 = vec4<f32>(0.0); var c23 = vec4<f32>(0.0);
    var c30 = vec4<f32>(0.0); var c31 = vec4<f32>(0.0); var c32 = vec4<f32>(0.0); var c33 = vec4<f32>(0.0);
    var p = 0u;
    for (; p + 3u < K; p += 4u) {
      let x0 = load4a(r0 + p); let x1 = load4a(r1 + p); let x2 = load4a(r2 + p); let x3 = load4a(r3 + p);
      let y0 = load4b(s0 + p); let y1 = load4b(s1 + p); let y2 = load4b(s2 + p); let y3 = load4b(s3 + p);
      c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
      c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
      c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
      c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
    }
    for (; p < K; p++) {
      let x = vec4<f32>(a[r0 + p], a[r1 + p], a[r2 + p], a[r3 + p]);
      let y = vec4<f32>(loadB(s0 + p), loadB(s1 + p), loadB(s2 + p), loadB(s3 + p));
      c00.x += x.x * y.x; c01.x += x.x * y.y; c02.x += x.x * y.z; c03.x += x.x * y.w;
      c10.x += x.y * y.x; c11.x += x.y * y.y; c12.x += x.y * y.z; c13.x += x.y * y.w;
      c20.x += x.z * y.x; c21.x += x.z * y.y; c22.x += x.z * y.z; c23.x += x.z * y.w;
      c30.x += x.w * y.x; c31.x += x.w * y.y; c32.x += x.w * y.z; c33.x += x.w * y.w;
    }
    let one = vec4<f32>(1.0);
    o0 = vec4<f32>(dot(c00, one), dot(c01, one), dot(c02, one), dot(c03, one));
    o1 = vec4<f32>(dot(c10, one), dot(c11, one), dot(c12, one), dot(c13, one));
    o2 = vec4<f32>(dot(c20, one), dot(c21, one), dot(c22, one), dot(c23, one));
    o3 = vec4<f32>(dot(c30, one), dot(c31, one), dot(c32, one), dot(c33, one));
  } else {
    // b rows are contiguous along n: a vec4 of 4 columns per k.
    let s0 = min(j0, N - 1u);
    let s1 = min(j0 + 1u, N - 1u);
    let s2 = min(j0 + 2u, N - 1u);
    let s3 = min(j0 + 3u, N - 1u);
    o0 = vec4<f32>(0.0);
    o1 = vec4<f32>(0.0);
    o2 = vec4<f32>(0.0);
    o3 = vec4<f32>(0.0);
    for (var p = 0u; p < K; p++) {
      let bo = p * N;
      let y = vec4<f32>(loadB(bo + s0), loadB(bo + s1), loadB(bo + s2), loadB(bo + s3));
      o0 += a[r0 + p] * y;
      o1 += a[r1 + p] * y;
      o2 += a[r2 + p] * y;
      o3 += a[r3 + p] * y;
    }
  }
  store4(i0, j0, o0);
  store4(i0 + 1u, j0, o1);
  store4(i0 + 2u, j0, o2);
  store4(i0 + 3u, j0, o3);
}

// b[p, j0..j0+3] (columns past the edge clamped), in either layout of b.
fn loadBRow(j0: u32, p: u32) -> vec4<f32> {
  let N = params.n;
  let s0 = min(j0, N - 1u);
  let s1 = min(j0 + 1u, N - 1u);
  let s2 = min(j0 + 2u, N - 1u);
  let s3 = min(j0 + 3u, N - 1u);
  if (TRANS_B) {
    let K = params.k;
    return vec4<f32>(loadB(s0 * K + p), loadB(s1 * K + p), loadB(s2 * K + p), loadB(s3 * K + p));
  }
  let bo = p * N;
  return vec4<f32>(loadB(bo + s0), loadB(bo + s1), loadB(bo + s2), loadB(bo + s3));
}

// #if B_F32
fn loadB(i: u32) -> f32 { return b[i]; }
// #endif
// #if B_F16
fn loadB(i: u32) -> f32 { return unpack2x16float(b[i >> 1u])[i & 1u]; }
// #endif
// #if B_BF16
fn loadB(i: u32) -> f32 {
  let w = b[i >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}
// #endif

fn load4a(o: u32) -> vec4<f32> {
  return vec4<f32>(a[o], a[o + 1u], a[o + 2u], a[o + 3u]);
}

fn load4b(o: u32) -> vec4<f32> {
  return vec4<f32>(loadB(o), loadB(o + 1u), loadB(o + 2u), loadB(o + 3u));
}

// ---- gemv -----------------------------------------------------------------------------------

fn gemv(group: u32, lid: u32) {
  let blocksN = (params.n + 3u) / 4u;
  let block = group * WG + lid;
  let i = block / blocksN;
  let j0 = (block % blocksN) * 4u;
  if (i >= params.m) { return; }
  let K = params.k;
  let N = params.n;
  let r = i * K;
  var o: vec4<f32>;
  if (TRANS_A) {
    o = vec4<f32>(0.0);
    for (var p = 0u; p < K; p++) {
      o += a[p * params.m + i] * loadBRow(j0, p);
    }
  } else if (TRANS_B) {
    let s0 = min(j0, N - 1u) * K;
    let s1 = min(j0 + 1u, N - 1u) * K;
    let s2 = min(j0 + 2u, N - 1u) * K;
    let s3 = min(j0 + 3u, N - 1u) * K;
    var c0 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
    var p = 0u;
    for (; p + 3u < K; p += 4u) {
      let x = load4a(r + p);
      c0 += x * load4b(s0 + p);
      c1 += x * load4b(s1 + p);
      c2 += x * load4b(s2 + p);
      c3 += x * load4b(s3 + p);
    }
    for (; p < K; p++) {
      let x = a[r + p];
      c0.x += x * loadB(s0 + p);
      c1.x += x * loadB(s1 + p);
      c2.x += x * loadB(s2 + p);
      c3.x += x * loadB(s3 + p);
    }
    let one = vec4<f32>(1.0);
    o = vec4<f32>(dot(c0, one), dot(c1, one), dot(c2, one), dot(c3, one));
  } else {
    let s0 = min(j0, N - 1u);
    let s1 = min(j0 + 1u, N - 1u);
    let s2 = min(j0 + 2u, N - 1u);
    let s3 = min(j0 + 3u, N - 1u);
    o = vec4<f32>(0.0);
    for (var p = 0u; p < K; p++) {
      let bo = p * N;
      o += a[r + p] * vec4<f32>(loadB(bo + s0), loadB(bo + s1), loadB(bo + s2), loadB(bo + s3));
    }
  }
  store4(i, j0, o);
}
