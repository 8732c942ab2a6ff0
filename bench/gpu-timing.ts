/**
 * What the GPU kernel benches (gpu-matmul.ts, gpu-attention.ts) share: seeded inputs and the
 * best time per call of a dispatch, with the GPU synced around each batch.
 */

/** n values uniform in [−scale, scale), from a 32-bit LCG seeded with `seed` (no test deps). */
export function seededUniform(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/**
 * Best ms per call of `run` over `reps` batches of `batch` calls, after one call and a sync (the
 * pipelines' compile); `sync` waits for the GPU, so a batch's time is its work, not its queueing.
 */
export async function bestMsPerCall(
  run: () => void,
  sync: () => Promise<void>,
  reps: number,
  batch: number,
): Promise<number> {
  run();
  await sync();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) run();
    await sync();
    best = Math.min(best, (performance.now() - t0) / batch);
  }
  return best;
}
