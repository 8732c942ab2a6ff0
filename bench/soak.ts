/**
 * bench/soak (`npm run soak`): the 20-round soak of test/e2e/soak-rounds.ts in one page of the
 * built app (headless Chromium, WebGPU on SwiftShader). Prints one JSON line per round (round 0 is
 * the page before any round: the default notebook opened, its model loaded and released) and a
 * summary line: each round's page and worker heap (raw, and without V8's compiled code) and GPU
 * pool bytes as ratios of the baseline round's, the largest of each, the raw heaps' growth after
 * the JIT warmed up (last round against round 10), and the failures of `checkSoak`. Exits 1 on any
 * failure or page error.
 *
 *   node --import ./cli/register.mjs bench/soak.ts [--rounds 20] [--sae-steps 100] [--sae-batch 64]
 *     [--baseline 1] [--tolerance 0.1]
 */
import { parseArgs } from 'node:util';
import { checkSoak, FULL_SOAK, runSoak, SOAK_CHECK, startSoakApp } from '../test/e2e/soak-rounds';

const { values: f } = parseArgs({
  options: {
    rounds: { type: 'string', default: String(FULL_SOAK.rounds) },
    'sae-steps': { type: 'string', default: String(FULL_SOAK.saeSteps) },
    'sae-batch': { type: 'string', default: String(FULL_SOAK.saeBatch) },
    baseline: { type: 'string', default: '1' },
    tolerance: { type: 'string', default: '0.1' },
  },
});
const config = {
  ...FULL_SOAK,
  rounds: Number(f.rounds),
  saeSteps: Number(f['sae-steps']),
  saeBatch: Number(f['sae-batch']),
};
const baseline = Number(f.baseline);
const tolerance = Number(f.tolerance);

const t0 = performance.now();
const app = await startSoakApp();
let code = 0;
try {
  const { samples, errors } = await runSoak(app, config, (s) => console.log(JSON.stringify(s)));
  const check = checkSoak(samples, { ...SOAK_CHECK, baseline, tolerance });
  const last = samples.at(-1)!;
  const warm = samples.find((s) => s.round === Math.min(10, config.rounds));
  const summary = {
    bench: 'soak',
    rounds: config.rounds,
    saeSteps: config.saeSteps,
    saeBatch: config.saeBatch,
    sweep: { methods: config.methods, patterns: config.patterns, sparsities: config.sparsities },
    baselineRound: baseline,
    tolerance,
    ratios: check.ratios,
    max: check.max,
    // The raw heaps once the JIT has warmed up: the last round against round 10.
    rawAfterWarmup: warm && {
      fromRound: warm.round,
      pageHeap: Math.round((last.pageHeap / warm.pageHeap) * 1000) / 1000,
      workerHeap: Math.round((last.workerHeap / warm.workerHeap) * 1000) / 1000,
    },
    liveGpuBuffersRound0: samples[0]!.gpuLiveBuffers,
    failures: check.failures,
    errors,
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  console.log(JSON.stringify(summary));
  if (check.failures.length > 0 || errors.length > 0) code = 1;
} finally {
  await app.close();
}
process.exit(code);
