/**
 * Autotune a model's matmuls on its WebGPU backend (kernels/matmul-autotune.ts): the products of
 * one prefill of `tokens` and one decode step are recorded, and each shape class not yet decided
 * on this adapter is timed across the kernel variants; the choices are cached per adapter. A
 * no-op on the CPU backend; on a CPU emulation (SwiftShader) nothing is recorded or tuned.
 *
 * @example
 * const report = await autotuneModel(model, tokens.slice(0, 512));
 */
import { autotuneMatmul, type AutotuneEntry, type AutotuneOptions } from '../../kernels/matmul-autotune';
import { isCpuEmulated } from '../../kernels/device';
import { recordMatmulShapes } from '../../kernels/matmul-tune-cache';
import type { WebGpuBackend } from '../../kernels/webgpu-backend';
import type { LlamaModel } from './llama';

export async function autotuneModel(
  model: LlamaModel,
  tokens: readonly number[],
  opts: AutotuneOptions = {},
): Promise<AutotuneEntry[]> {
  if (model.backend.kind !== 'webgpu') return [];
  const ctx = (model.backend as WebGpuBackend).ctx;
  if (isCpuEmulated(ctx.device) && !opts.force) return [];
  const b = model.backend;
  const shapes = await recordMatmulShapes(async () => {
    b.dispose(await model.forward(tokens));
    const cache = model.createKvCache(Math.min(model.config.seqLen, tokens.length + 1));
    try {
      b.dispose(await model.forward(tokens, { kvCache: cache, lastLogitsOnly: true }));
      if (cache.length < cache.capacity) b.dispose(await model.forward(tokens.slice(-1), { kvCache: cache }));
    } finally {
      cache.dispose();
    }
  });
  return autotuneMatmul(ctx, shapes, opts);
}

/** Tokens of the load-time tune: one window of this many (at most the model's context). */
export const LOAD_TUNE_TOKENS = 512;

/**
 * Tune a freshly loaded model as a session will use it: a full window (up to LOAD_TUNE_TOKENS) of
 * the document token, then one decode step. Classes already decided on this adapter come from
 * the cache, so only the first load of a shape on a GPU pays for timing. A failure here never
 * fails the load: the fixed kernel rule stays, and the reason goes to `onError`.
 */
export async function autotuneLoaded(
  model: LlamaModel,
  documentToken: number,
  onError: (e: unknown) => void = (e) => console.warn('matmul autotune skipped:', e),
): Promise<AutotuneEntry[]> {
  if (model.backend.kind !== 'webgpu') return [];
  const n = Math.min(model.config.seqLen, LOAD_TUNE_TOKENS);
  try {
    return await autotuneModel(model, new Array<number>(n).fill(documentToken));
  } catch (e) {
    onError(e);
    return [];
  }
}

/** A one-line summary of a report: classes seen, tuned, taken from the cache, skipped. */
export function autotuneSummary(report: readonly AutotuneEntry[]): Record<string, unknown> {
  return {
    classes: report.length,
    tuned: report.filter((e) => !e.skipped).length,
    cached: report.filter((e) => e.skipped === 'cached').length,
    choices: Object.fromEntries(report.map((e) => [e.shapeClass, e.chosen ?? e.skipped])),
  };
}
