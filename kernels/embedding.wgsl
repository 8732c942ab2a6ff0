// Embedding gather: out[t, :] = table[ids[t] - rowOffset, :]; an id outside [rowOffset,
// rowOffset + V) gives a zero row (the CPU reference throws unless the table is a chunk of a split
// one; a shader cannot, and reading out of bounds is worse). The table may be a 16-bit weight
// (flag TABLE_F16 or TABLE_BF16: array<u32>), decoded by loadTable (kernels/weight-wgsl.ts).
struct Params { n: u32, d: u32, v: u32, rowOffset: u32 }

// #if TABLE_F32
@group(0) @binding(0) var<storage, read> table: array<f32>;
// #else
@group(0) @binding(0) var<storage, read> table: array<u32>;
// #endif
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// #if TABLE_F32
fn loadTable(i: u32) -> f32 { return table[i]; }
// #endif
// #if TABLE_F16
fn loadTable(i: u32) -> f32 { return unpack2x16float(table[i >> 1u])[i & 1u]; }
// #endif
// #if TABLE_BF16
fn loadTable(i: u32) -> f32 {
  let w = table[i >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}
// #endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) { return; }
  let t = i / params.d;
  let c = i - t * params.d;
  let id = ids[t];
  var value = 0.0;
  if (id >= 0) {
    // Ids below the chunk wrap to huge values and fail the bound like those above it.
    let row = u32(id) - params.rowOffset;
    if (u32(id) >= params.rowOffset && row < params.v) { value = loadTable(row * params.d + c); }
  }
  out[i] = value;
}
