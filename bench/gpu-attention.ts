/**
 * bench/gpu-attention: the two WebGPU attention kernels — the row-per-query kernel
 * (attention.wgsl) and the flash kernel (attention-flash.wgsl) — forced in turn on GPT-2-small's
 * attention shape (12 heads of 64) for growing windows, with the rule's choice per window: the data
 * that sets FLASH_MIN_KEYS on a real GPU. Prints one JSON line: per window the ms of each, the
 * row/flash ratio and the kernel `attentionKernel` picks.
 *
 *   node --import ./cli/register.mjs bench/gpu-attention.ts [--quick] [--reps 5 --batch 10]
 */
import { parseArgs } from 'node:util';
import { nodeGpu } from '../cli/node-gpu';
import { attentionGpu, attentionKernel, type AttentionKernel } from '../kernels/attention';
import { createWebGpuBackend } from '../kernels/webgpu-backend';
import { bestMsPerCall, seededUniform } from './gpu-timing';

const { values: f } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    batch: { type: 'string' },
  },
});
const quick = f.quick!;
const reps = Number(f.reps ?? (quick ? 1 : 5));
const batch = Number(f.batch ?? (quick ? 1 : 10));
const WINDOWS = quick ? [32, 64] : [64, 128, 256, 512, 1024, 2048];
const heads = 12;
const headDim = 64;

const backend = await createWebGpuBackend(await nodeGpu());
const ctx = backend.ctx;
const opts = { nHeads: heads, nKvHeads: heads, headDim };

const windows: Record<string, unknown> = {};
for (const t of WINDOWS) {
  // Uniform in [−½, ½), as before the helper was shared.
  const q = backend.tensor(seededUniform(t * heads * headDim, 1, 0.5), [t, heads * headDim]);
  const k = backend.tensor(seededUniform(t * heads * headDim, 2, 0.5), [t, heads * headDim]);
  const v = backend.tensor(seededUniform(t * heads * headDim, 3, 0.5), [t, heads * headDim]);
  const ms: Partial<Record<AttentionKernel, number>> = {};
  for (const kernel of ['rows', 'flash'] as const) {
    const run = () => ctx.release(attentionGpu(ctx, q, k, v, opts, kernel).out);
    ms[kernel] = +(await bestMsPerCall(run, () => ctx.sync(), reps, batch)).toFixed(3);
  }
  windows[t] = {
    rows_ms: ms.rows,
    flash_ms: ms.flash,
    rows_over_flash: +(ms.rows! / ms.flash!).toFixed(3),
    rule_picks: attentionKernel(ctx.device, { t, pos0: 0, headDim }, opts),
  };
  backend.dispose(q, k, v);
  console.error(`${t}: ${JSON.stringify(windows[t])}`);
}
console.log(
  JSON.stringify({
    bench: 'gpu-attention',
    adapter: backend.description,
    shape: `${heads} heads × ${headDim}, causal, no cache`,
    windows,
  }),
);
backend.destroy();
process.exit(0);
