// Matmul, vec4 kernel: out [M, N] = a [M, K] × b, with b [K, N] or, when TRANS_B, b [N, K] (a
// weight matrix, the hot path). Shared-memory tiles like matmul.wgsl's `tiled`, but every global
// read is a vec4 (a and b bound as arrays of vec4): a quarter of the load instructions, 16-byte
// transactions. Needs K % 4 == 0, and N % 4 == 0 when b is [K, N] (matmul.ts checks).
// A workgroup of SN × SM threads computes a (4·SM) × (4·SN) output tile, each thread a 4 × 4 block
// accumulated in f32.
// b is f32 (B_F32), or a 16-bit float weight (B_F16): unpacked from u32 pairs, or with F16_NATIVE
// (the device has `shader-f16`) read as vec4<f16> and widened — both exact, f16 → f32 loses nothing.
// With BIAS, bias [N] is added to every row in the epilogue.
// #if F16_NATIVE
enable f16;
// #endif

struct Params { m: u32, n: u32, k: u32, tilesN: u32 }

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
// #if B_F32
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
// #endif
// #if B_F16
// #if F16_NATIVE
@group(0) @binding(1) var<storage, read> b: array<vec4<f16>>;
// #else
@group(0) @binding(1) var<storage, read> b: array<vec2<u32>>;
// #endif
// #endif
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
// #if BIAS
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
// #else
@group(0) @binding(3) var<uniform> params: Params;
// #endif

const TRANS_B: bool = true;
const WG: u32 = 256u; // threads per workgroup (SM * SN)
const SM: u32 = 16u; // thread rows
const SN: u32 = 16u; // thread columns
const TK: u32 = 16u; // K step, a multiple of 4

const TM: u32 = 4u * SM;
const TN: u32 = 4u * SN;
const TK4: u32 = TK / 4u;

var<workgroup> tileA: array<vec4<f32>, TK * SM>; // [k][m / 4]
var<workgroup> tileB: array<vec4<f32>, TK * SN>; // [k][n / 4]

// The i-th vec4 of b (4 consecutive floats of a row), widened to f32.
fn loadB4(i: u32) -> vec4<f32> {
  // #if B_F32
  return b[i];
  // #endif
  // #if B_F16
  // #if F16_NATIVE
  return vec4<f32>(b[i]);
  // #else
  let w = b[i];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
  // #endif
  // #endif
}

fn store4(row: u32, col: u32, acc: vec4<f32>) {
  if (row >= params.m) { return; }
  var v = acc;
  // #if BIAS
  let last = params.n - 1u;
  v += vec4<f32>(bias[min(col, last)], bias[min(col + 1u, last)], bias[min(col + 2u, last)], bias[min(col + 3u, last)]);
  // #endif
  let o = row * params.n + col;
  for (var j = 0u; j < 4u; j++) {
    if (col + j < params.n) { out[o + j] = v[j]; }
  }
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let tile = wid.x + wid.y * nwg.x;
  let M = params.m;
  let N = params.n;
  let K = params.k;
  let K4 = K / 4u;
  let m0 = (tile / params.tilesN) * TM;
  let n0 = (tile % params.tilesN) * TN;
  let ty = lid / SN;
  let tx = lid % SN;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += TK) {
    // a: TM rows × TK4 vec4s along k, transposed into tileA[k][m]. Zeros past the edges (K is a
    // multiple of 4, so a vec4 is either wholly inside or wholly outside).
    for (var l = lid; l < TM * TK4; l += WG) {
      let r = l / TK4;
      let c = (l % TK4) * 4u;
      var v = vec4<f32>(0.0);
      if (m0 + r < M && k0 + c < K) { v = a[(m0 + r) * K4 + (k0 + c) / 4u]; }
      let at = c * SM + r / 4u;
      tileA[at][r % 4u] = v.x;
      tileA[at + SM][r % 4u] = v.y;
      tileA[at + 2u * SM][r % 4u] = v.z;
      tileA[at + 3u * SM][r % 4u] = v.w;
    }
    if (TRANS_B) {
      for (var l = lid; l < TN * TK4; l += WG) {
        let r = l / TK4;
        let c = (l % TK4) * 4u;
        var v = vec4<f32>(0.0);
        if (n0 + r < N && k0 + c < K) { v = loadB4((n0 + r) * K4 + (k0 + c) / 4u); }
        let at = c * SN + r / 4u;
        tileB[at][r % 4u] = v.x;
        tileB[at + SN][r % 4u] = v.y;
        tileB[at + 2u * SN][r % 4u] = v.z;
        tileB[at + 3u * SN][r % 4u] = v.w;
      }
    } else {
      // b [K, N] rows are contiguous along n: one vec4 per 4 columns, stored as is.
      for (var l = lid; l < TK * SN; l += WG) {
        let c = l / SN;
        let r4 = l % SN;
        var v = vec4<f32>(0.0);
        if (k0 + c < K && n0 + 4u * r4 < N) { v = loadB4(((k0 + c) * N + n0) / 4u + r4); }
        tileB[c * SN + r4] = v;
      }
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
