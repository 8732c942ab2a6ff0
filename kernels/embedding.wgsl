// Embedding gather: out[t, :] = table[ids[t] - rowOffset, :]; an id outside [rowOffset,
// rowOffset + V) gives a zero row (the CPU reference throws unless the table is a chunk of a split
// one; a shader cannot, and reading out of bounds is worse). The table may be a 16-bit weight
// (TABLE_TYPE u32), decoded by loadTable (kernels/weight-wgsl.ts).
struct Params { n: u32, d: u32, v: u32, rowOffset: u32 }

@group(0) @binding(0) var<storage, read> table: array<{{TABLE_TYPE}}>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// {{TABLE_LOAD}}

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
