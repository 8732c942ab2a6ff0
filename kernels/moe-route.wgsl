// Mixtral-style router, one invocation per row of logits [T, E] (E is small: 8–64 experts), so
// no workgroup memory and no barriers (slow on SwiftShader, the CPU adapter of the tests):
//   p = softmax(logits / temperature) over the enabled experts (disabled ones get p = 0);
//   choose k experts by (enabled, p + bias) descending, ties to the lower index;
//   gate = p of each chosen expert, renormalised to sum to 1 when params.renorm is set.
// Disabled experts are skipped rather than set to −inf: WGSL implementations need not honour
// infinities. Selection walks the total order k times, each time taking the best expert that
// comes after the previous pick, so it needs no private list of what was taken.

const WG: u32 = 64u;

struct Params {
  rows: u32,
  experts: u32,
  k: u32,
  renorm: u32,
  temperature: f32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
// adjust[e] = bias of expert e, adjust[E + e] = 1.0 when expert e is enabled, else 0.0.
@group(0) @binding(1) var<storage, read> adjust: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> experts: array<i32>;
@group(0) @binding(4) var<storage, read_write> gates: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

fn enabled(e: u32) -> bool {
  return adjust[params.experts + e] != 0.0;
}

// Does candidate a come before candidate b?
fn before(ea: bool, ka: f32, ia: u32, eb: bool, kb: f32, ib: u32) -> bool {
  if (ea != eb) {
    return ea;
  }
  return ka > kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) {
    return;
  }
  let E = params.experts;
  let base = row * E;

  var m = 0.0;
  var seen = false;
  for (var e = 0u; e < E; e++) {
    if (enabled(e)) {
      let z = logits[base + e] / params.temperature;
      m = select(z, max(m, z), seen);
      seen = true;
    }
  }
  var sum = 0.0;
  for (var e = 0u; e < E; e++) {
    var v = 0.0;
    if (enabled(e)) {
      v = exp(logits[base + e] / params.temperature - m);
    }
    probs[base + e] = v;
    sum += v;
  }
  for (var e = 0u; e < E; e++) {
    probs[base + e] = probs[base + e] / sum;
  }

  let out = row * params.k;
  var total = 0.0;
  var prev_on = false;
  var prev_key = 0.0;
  var prev_idx = 0u;
  for (var j = 0u; j < params.k; j++) {
    var best_on = false;
    var best_key = 0.0;
    var best_idx = E;
    for (var e = 0u; e < E; e++) {
      let on = enabled(e);
      let key = select(0.0, probs[base + e] + adjust[e], on);
      if (j > 0u && !before(prev_on, prev_key, prev_idx, on, key, e)) {
        continue;
      }
      if (best_idx == E || before(on, key, e, best_on, best_key, best_idx)) {
        best_on = on;
        best_key = key;
        best_idx = e;
      }
    }
    experts[out + j] = i32(best_idx);
    let g = probs[base + best_idx];
    gates[out + j] = g;
    total += g;
    prev_on = best_on;
    prev_key = best_key;
    prev_idx = best_idx;
  }
  if (params.renorm != 0u && total > 0.0) {
    for (var j = 0u; j < params.k; j++) {
      gates[out + j] = gates[out + j] / total;
    }
  }
}
