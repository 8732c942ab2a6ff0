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
 * (part of the pipeline key), as are the number of locality buckets. With `norm` (the attention
 * pass's per-row (m, 1/l); see attention.wgsl's SCORES) `probs` holds raw scores, which the rows
 * dispatch turns into probabilities in place before the line sums read them.
 *
 * Measured on SwiftShader (the WebGPU of the tests and CI; wall time on an idle 2-core machine,
 * stories260K's real 5 layers × [8, 512, 512] patterns, each layer dispatched alone, best of 3):
 *
 *   | rows kernel, cumulative                                      | ms, 5 layers |
 *   |--------------------------------------------------------------|--------------|
 *   | one pass: entropy (a log per key), sink, distance, locality  |  56          |
 *   | + the 64-bin exponent histogram                              |  88          |
 *   | + the top-64 heap inserts                                    | 258          |
 *   | + the heapsort and top-k coverage                            | 302          |
 *   | + k90/95/99 beyond the heap (histogram select)               | 418–464      |
 *
 * The cost model behind it: a dynamically indexed private-array access is scalarised per lane and
 * costs about as much as the row element's global load, and a branch without a loop runs for every
 * lane (masked) whether taken or not. So the heap's data-dependent indexing, not the passes over
 * the row, is the cost: adding locality by index (`loc[bucket(d)] += x`) instead of the bucket
 * loops costs +54 ms, filling the heap slot by slot +47 ms, and Floyd's heapify in place of the
 * sift-up inserts gained nothing. Keeping the top 64 sorted in 64 scalar variables with an
 * insertion chain of compare-exchanges (constant indices, guarded segments) was 3× slower still. For scale: the attention kernel alone is ≈ 230 ms of the ≈ 430 ms
 * plain forward pass, and its second sweep (recomputing the scores to write the pattern, or only to
 * sum it) ≈ +120 ms, whatever it does with them; the line sums ≈ 65 ms.
 */
export function patternProbeGpu(
  ctx: GpuContext,
  probs: Tensor<'f32'>,
  opts: PatternProbeOptions,
  norm?: Tensor<'f32'>,
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
  const fromScores = norm !== undefined;
  const code = (rowsProgram: boolean) => () =>
    specialize(
      source,
      { WG, NK: nk, NB: opts.nBuckets, F: width, HK: hk },
      { ROWS: rowsProgram, FROM_SCORES: rowsProgram && fromScores },
    ).replace(
      /const KS = array<u32, 1>\(1u\);/,
      `const KS = array<u32, ${ks.length}>(${ks.map((k) => `${k}u`).join(', ')});`,
    );
  const rowCount = nHeads * T;
  ctx.dispatch({
    key: `patternProbe:rows:wg${WG}:ks${opts.ks.join('-')}:nb${opts.nBuckets}:${fromScores ? 'scores' : 'probs'}`,
    code: code(true),
    tensors: norm ? [probs, rows, norm] : [probs, rows],
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
