// Rotary embedding. Thread p handles pair slot i = p mod headDim/2 of one head of one row:
// slots i < ROT (= rotaryDim/2) rotate dims (a, b) by angle (pos0 + row) · invFreq[i], with
// (a, b) = (2i, 2i+1) (interleaved, llama2.c) or, with HALF, (i, i + ROT) (HF rotate_half); the
// other slots copy dims (2i, 2i+1), which for both styles are the pass-through dims past rotaryDim.
// cos/sin come from a host-computed table [positions, ROT] (float64 angles rounded once to f32:
// sin/cos of arguments in the hundreds are not accurate enough in WGSL, and the host computes the
// frequencies, scaling included, with the very function of the CPU reference).
struct Params { pairs: u32, rowPairs: u32, headPairs: u32, rotPairs: u32, pos0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<vec2<f32>>; // (cos, sin)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = gid.x + gid.y * nwg.x * 256u;
  if (p >= params.pairs) { return; }
  let row = p / params.rowPairs;
  let q = p - row * params.rowPairs;
  let i = q % params.headPairs;
  let head = 2u * (q - i); // first dim of the head
  let base = row * 2u * params.rowPairs + head;
  if (i >= params.rotPairs) {
    out[base + 2u * i] = x[base + 2u * i];
    out[base + 2u * i + 1u] = x[base + 2u * i + 1u];
    return;
  }
  // #if HALF
  let ia = base + i;
  let ib = ia + params.rotPairs;
  // #else
  let ia = base + 2u * i;
  let ib = ia + 1u;
  // #endif
  let cs = table[(params.pos0 + row) * params.rotPairs + i];
  let a = x[ia];
  let b = x[ib];
  out[ia] = a * cs.x - b * cs.y;
  out[ib] = a * cs.y + b * cs.x;
}
