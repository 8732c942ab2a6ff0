import type { AttentionOptions, AttentionResult } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { attentionApplyDims, attentionDims } from './shapes';
import attentionSource from './attention.wgsl?raw';
import applySource from './attention-apply.wgsl?raw';
import flashSource from './attention-flash.wgsl?raw';
import { isCpuEmulated } from './device';
import { specialize } from './wgsl';
import { patternProbeGpu } from './pattern-probe';
import { checkFusedProbe } from './pattern-probe.cpu';
import { attentionScoreOptions } from './attention.cpu';

/** Invocations per workgroup; each invocation owns one (query row, head). */
const WG = 64;

/** Read rows as vec4 when every head starts on a multiple of 4 floats (fewer loads and bounds checks). */
function vecWidth(headDim: number): 1 | 4 {
  return headDim % 4 === 0 ? 4 : 1;
}

/** The attention kernels: `rows` (attention.wgsl, every option) and `flash` (attention-flash.wgsl). */
export type AttentionKernel = 'rows' | 'flash';

/** Keys a query must see, on average over the window, before the flash kernel is chosen. */
export const FLASH_MIN_KEYS = 256;
/** Queries per flash workgroup (one invocation each). */
const FLASH_BQ = 64;

/** Keys per flash tile: the largest of 32, 16, 8, 4 whose K and V tiles fit workgroup memory. */
function flashTileKeys(device: GPUDevice, headDim: number): number | undefined {
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  return [32, 16, 8, 4].find((bk) => 2 * bk * headDim * 4 <= limit);
}

/**
 * Why the flash kernel cannot run this call, or undefined when it can: it computes the output
 * only (no probabilities, probe, row statistics or scores) and reads rows as vec4.
 */
export function flashUnfit(device: GPUDevice, headDim: number, opts: AttentionOptions): string | undefined {
  if (opts.returnProbs || opts.probe || opts.returnRowStats || opts.returnScores)
    return 'flash attention computes the output only (no probs, probe, row stats or scores)';
  if (headDim % 4 !== 0) return `flash attention: headDim ${headDim} is not a multiple of 4`;
  if (flashTileKeys(device, headDim) === undefined)
    return `flash attention: headDim ${headDim} leaves no K/V tile in workgroup memory`;
  if (FLASH_BQ > device.limits.maxComputeInvocationsPerWorkgroup)
    return `flash attention: ${FLASH_BQ} invocations per workgroup, over the device's limit`;
  return undefined;
}

let preferred: AttentionKernel | undefined;

/**
 * Prefer a kernel wherever it can run, whatever the rule says (tests of whole models on an
 * adapter where the rule never picks flash, benchmarks comparing the two); undefined restores the
 * rule.
 */
export function preferAttentionKernel(kernel: AttentionKernel | undefined): void {
  preferred = kernel;
}

/**
 * The kernel for a call: flash when it fits and the window is long — many queries (t ≥ 32) that
 * each see FLASH_MIN_KEYS keys or more on average — on a real GPU; otherwise rows (the decode
 * step, short windows, every pattern-returning call, and CPU emulations, where each workgroup
 * barrier is a coroutine switch).
 */
export function attentionKernel(
  device: GPUDevice,
  dims: { t: number; pos0: number; headDim: number },
  opts: AttentionOptions,
): AttentionKernel {
  if (preferred === 'flash' && flashUnfit(device, dims.headDim, opts) === undefined) return 'flash';
  if (preferred === 'rows') return 'rows';
  if (flashUnfit(device, dims.headDim, opts) !== undefined || isCpuEmulated(device)) return 'rows';
  const { window } = attentionScoreOptions(opts, dims.headDim);
  const meanKeys = Math.min(window, dims.pos0 + (dims.t + 1) / 2);
  return dims.t >= 32 && meanKeys >= FLASH_MIN_KEYS ? 'flash' : 'rows';
}

/**
 * WebGPU causal grouped-query attention (see `Backend.attention`): one invocation per (query row,
 * head) with an online softmax over its visible keys (only the window's, under a sliding window);
 * with `returnProbs` the same invocation writes its row of probabilities in a second sweep, and
 * with `returnScores` it stores each score as it computes it (−∞ where masked).
 * The score scale and window are uniforms; soft-capping is a shader variant.
 */
export function attentionGpu(
  ctx: GpuContext,
  q: Tensor<'f32'>,
  k: Tensor<'f32'>,
  v: Tensor<'f32'>,
  opts: AttentionOptions,
  kernel?: AttentionKernel,
): AttentionResult {
  const { t, tk, nHeads, nKvHeads, headDim, pos0 } = attentionDims(q.shape, k.shape, v.shape, opts);
  const { scale, softcap, window } = attentionScoreOptions(opts, headDim);
  const chosen = kernel ?? attentionKernel(ctx.device, { t, pos0, headDim }, opts);
  if (chosen === 'flash') {
    const unfit = flashUnfit(ctx.device, headDim, opts);
    if (unfit) throw new Error(unfit);
    const bk = flashTileKeys(ctx.device, headDim)!;
    const out = ctx.createTensor([t, nHeads * headDim], 'f32');
    if (t === 0) return { out };
    ctx.dispatch({
      key: `attention:flash:hd${headDim}:bq${FLASH_BQ}:bk${bk}:${softcap > 0 ? 'cap' : ''}`,
      code: () => specialize(flashSource, { HD: headDim, BQ: FLASH_BQ, BK: bk }, { SOFTCAP: softcap > 0 }),
      tensors: [q, k, v, out],
      uniforms: [
        { u32: t },
        { u32: nHeads },
        { u32: nHeads / nKvHeads },
        { u32: pos0 },
        { u32: nHeads * headDim },
        { u32: nKvHeads * headDim },
        { u32: tk },
        { f32: scale },
        { f32: softcap },
        { u32: Math.min(window, pos0 + t) },
      ],
      workgroups: grid(Math.ceil(t / FLASH_BQ) * nHeads),
    });
    return { out };
  }
  if (opts.probe) checkFusedProbe(nHeads, t, tk, pos0, opts.probe);
  // The probe runs on the stored pattern (a second dispatch): a row-per-invocation probe inside
  // the attention pass would hold the whole workgroup's rows in private memory. When only the
  // probe wants the pattern, the pass stores raw scores and per-row (m, 1/l) instead of sweeping
  // again to write probabilities, and the probe turns them into the same probabilities.
  const probsWanted = opts.returnProbs === true || opts.probe !== undefined;
  const statsWanted = opts.returnRowStats === true;
  const scoresWanted = opts.returnScores === true;
  const scoresOnly = opts.probe !== undefined && !opts.returnProbs;
  const vec = vecWidth(headDim);
  const out = ctx.createTensor([t, nHeads * headDim], 'f32');
  const probs = probsWanted ? ctx.createTensor([nHeads, t, tk], 'f32') : undefined;
  const norm = scoresOnly ? ctx.createTensor([nHeads, t, 2], 'f32') : undefined;
  const stats = statsWanted ? ctx.createTensor([nHeads, t, 3], 'f32') : undefined;
  // The shader writes float bits (−∞ as 0xff800000) into this f32 tensor's buffer.
  const scores = scoresWanted ? ctx.createTensor([nHeads, t, tk], 'f32') : undefined;
  const extra: Tensor<'f32'>[] = [probs, norm, stats, scores].filter((x) => x !== undefined);
  const variant = scoresOnly ? 'scores' : probsWanted ? 'probs' : 'out';
  ctx.dispatch({
    key: `attention:hd${headDim}:wg${WG}:${variant}:${statsWanted ? 'stats' : ''}:${scoresWanted ? 'scores' : ''}:${softcap > 0 ? 'cap' : ''}`,
    code: () =>
      specialize(
        attentionSource,
        {
          HD: headDim,
          WG,
          W: vec,
          B_NORM: 4 + (probs ? 1 : 0),
          B_STATS: 4 + (probs ? 1 : 0) + (norm ? 1 : 0),
          B_SCORES: 4 + (probs ? 1 : 0) + (norm ? 1 : 0) + (stats ? 1 : 0),
          B_PARAMS: 4 + extra.length,
        },
        {
          PROBS: probsWanted,
          RET_SCORES: scoresWanted,
          SCORES: scoresOnly,
          SOFTCAP: softcap > 0,
          STATS: statsWanted,
          VEC4: vec === 4,
        },
      ),
    tensors: [q, k, v, out, ...extra],
    uniforms: [
      { u32: t },
      { u32: nHeads },
      { u32: nHeads / nKvHeads },
      { u32: pos0 },
      { u32: nHeads * headDim },
      { u32: nKvHeads * headDim },
      { u32: tk },
      { f32: scale },
      { f32: softcap },
      // No query sees more than pos0 + t keys: a larger window (or none) is the same.
      { u32: Math.min(window, pos0 + t) },
    ],
    workgroups: grid(Math.ceil((t * nHeads) / WG)),
  });
  const result: AttentionResult = { out };
  if (probs && opts.probe) {
    result.probe = patternProbeGpu(ctx, probs, opts.probe, norm);
    if (norm) {
      ctx.release(probs);
      ctx.release(norm);
    }
  }
  if (probs && opts.returnProbs) result.probs = probs;
  if (stats) result.rowStats = stats;
  if (scores) result.scores = scores;
  return result;
}

/**
 * WebGPU z = probs × v per head (see `Backend.attentionApply`): one invocation per (query row,
 * head) summing over every key, so replaced (non-causal) patterns work too.
 */
export function attentionApplyGpu(
  ctx: GpuContext,
  probs: Tensor<'f32'>,
  v: Tensor<'f32'>,
  opts: { nHeads: number; nKvHeads: number; headDim: number },
): Tensor<'f32'> {
  const { t, tk, nHeads, nKvHeads, headDim } = attentionApplyDims(probs.shape, v.shape, opts);
  const vec = vecWidth(headDim);
  const out = ctx.createTensor([t, nHeads * headDim], 'f32');
  ctx.dispatch({
    key: `attentionApply:hd${headDim}:wg${WG}`,
    code: () => specialize(applySource, { HD: headDim, WG, W: vec }, { VEC4: vec === 4 }),
    tensors: [probs, v, out],
    uniforms: [
      { u32: t },
      { u32: nHeads },
      { u32: nHeads / nKvHeads },
      { u32: tk },
      { u32: nHeads * headDim },
      { u32: nKvHeads * headDim },
    ],
    workgroups: grid(Math.ceil((t * nHeads) / WG)),
  });
  return out;
}
