import type { PatternProbeOptions, PatternProbeResult } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import { patternProbeDims, patternProbeLayout } from './pattern-probe.cpu';
import { specialize } from './wgsl';
import source from './pattern-probe.wgsl?raw';

/** Invocations per workgroup; each owns one query row (rows) or one column / diagonal (lines). */
const WG = 64;
/** Largest private heap of top values (ks above it go through the histogram select). */
const HEAP_MAX = 64;

/**
 * WebGPU `patternProbe` (see `Backend.patternProbe` and the design notes in pattern-probe.wgsl):
 * two dispatches, a thread per causal query row for the row metrics and a thread per (head,
 * column | diagonal) for the line sums, neither with a barrier. The ks are baked into the shader
 * (part of the pipeline key), as are the number of locality buckets.
 *
 * Measured (SwiftShader, 2-core machine under heavy concurrent load, so process CPU time rather than
 * wall time; stories260K's own 5 layers × [8, 512, 512] patterns, all dispatched then read back):
 *   - the one-pass statistics (entropy with a log per key, sink, distance, locality) ≈ 270 ms CPU;
 *     adding the exponent histogram and the heap inserts costs little on top (≈ 240–330 ms);
 *   - the heapsort of the 64-entry private heap ≈ +450 ms: dynamic indexing of private arrays is
 *     the expensive operation on SwiftShader (scalarised per lane), far more than the row passes;
 *   - k90/95/99 beyond the heap (diffuse rows: sub-histogram + collect passes) ≈ +300 ms;
 *   - the line sums (second dispatch) ≈ 20 ms of wall time per layer.
 * The whole op is ≈ 1.0–1.2 s CPU for the five layers, against ≈ 0.5 s for the plain forward
 * pass on an idle machine: the next step is a heap-free top-64 (e.g. the histogram select with
 * its sub-histograms shared between targets) rather than a faster pass.
 */
export function patternProbeGpu(
  ctx: GpuContext,
  probs: Tensor<'f32'>,
  opts: PatternProbeOptions,
): PatternProbeResult {
  assertDType(gpu(probs), 'f32', 'patternProbe');
  const { nHeads, T } = patternProbeDims(probs.shape, opts);
  const { width } = patternProbeLayout(opts);
  const rows = ctx.createTensor([nHeads, T, width], 'f32');
  const lines = ctx.createTensor([nHeads, 2, T], 'f32');
  if (nHeads * T === 0) return { rows, lines };
  const ks = opts.ks.length > 0 ? opts.ks : [1];
  const nk = opts.ks.length;
  const hk = Math.max(1, Math.min(HEAP_MAX, Math.max(0, ...opts.ks)));
  const code = (rowsProgram: boolean) => () =>
    specialize(source, { WG, NK: nk, NB: opts.nBuckets, F: width, HK: hk }, { ROWS: rowsProgram }).replace(
      /const KS = array<u32, 1>\(1u\);/,
      `const KS = array<u32, ${ks.length}>(${ks.map((k) => `${k}u`).join(', ')});`,
    );
  const rowCount = nHeads * T;
  ctx.dispatch({
    key: `patternProbe:rows:wg${WG}:ks${opts.ks.join('-')}:nb${opts.nBuckets}`,
    code: code(true),
    tensors: [probs, rows],
    uniforms: [{ u32: nHeads }, { u32: T }, { u32: opts.nSink }, { u32: rowCount }],
    workgroups: grid(Math.ceil(rowCount / WG)),
  });
  const lineCount = nHeads * 2 * T;
  ctx.dispatch({
    key: `patternProbe:lines:wg${WG}`,
    code: code(false),
    tensors: [probs, lines],
    uniforms: [{ u32: nHeads }, { u32: T }, { u32: opts.nSink }, { u32: lineCount }],
    workgroups: grid(Math.ceil(lineCount / WG)),
  });
  return { rows, lines };
}
