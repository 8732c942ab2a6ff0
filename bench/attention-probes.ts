/**
 * bench/attention-probes: the cost of probing every attention head of a 512-token window, as a
 * ratio to the plain forward pass measured in the same run, on each backend (goal ≤ 1.5).
 *
 * - `fused`: per-row entropy, sink mass and mean distance computed inside the attention kernel
 *   (`attn.hook_row_stats` on every layer) and read back: [nHeads, T, 3] per layer.
 * - `patterns`: every layer's full probability matrix materialised and read back
 *   ([nHeads, T, T] per layer), what the row-wise probes that need whole rows (top-k coverage,
 *   k90, vertical/slash) start from.
 * - `probe`: everything `probeTokens` does for one window: the forward pass with the pattern probe
 *   fused into every layer's attention (`ForwardOptions.attentionProbe`; all metrics of all heads:
 *   entropy, sink, distance, locality, top-k coverage, k90/95/99, column and diagonal sums), rows
 *   and line sums read back, aggregated, and the Arrow tables built. `probe_over_plain` is the goal
 *   ratio (≤ 1.5). The CPU probes each row while it is in cache, with the entropy from the scores,
 *   and stores no pattern; WebGPU writes the pattern and runs the `patternProbe` kernel on it.
 *   On SwiftShader (the only WebGPU of a machine without a GPU) that kernel's exact top-64 and
 *   k-for-mass selection dominates: see the measured breakdown in kernels/pattern-probe.ts.
 *
 *   node --import ./cli/register.mjs bench/attention-probes.ts [--model M --tokenizer T --tokens 512 --reps 5]
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadModel, readText } from '../cli/session';
import { buildTokenStream, type Hooks } from '../runtime';
import { probeTokens } from '../analyses/attention/probes';

const shared = process.env.SPARSEBOOK_SHARED ?? path.resolve(import.meta.dirname, '../../shared');
const { values: f } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models/stories260K/stories260K.bin') },
    tokenizer: { type: 'string', default: path.join(shared, 'models/stories260K/tok512.bin') },
    text: { type: 'string', default: path.join(shared, 'data/tinystories-valid-1000.txt') },
    tokens: { type: 'string', default: '512' },
    reps: { type: 'string', default: '5' },
    backends: { type: 'string', default: 'cpu,webgpu' },
  },
});

const reps = Number(f.reps);
const result: Record<string, unknown> = { bench: 'attention-probes', model: path.basename(f.model!) };
const text = await readText(f.text!);
for (const kind of f.backends!.split(',') as ('cpu' | 'webgpu')[]) {
  const { backend, model, tokenizer } = await loadModel(kind, f.model!, f.tokenizer!);
  const n = Math.min(Number(f.tokens), model.config.seqLen);
  const stream = buildTokenStream(tokenizer, text).tokens;
  const tokens = stream.slice(0, n);
  // probeTokens runs inputs stream[0, n) (the (n+1)-th token is a target only): one window.
  const probeStream = stream.slice(0, n + 1);
  const reading = (point: string): { hooks: Hooks; reads: Promise<unknown>[] } => {
    const reads: Promise<unknown>[] = [];
    const hooks: Hooks = Object.fromEntries(
      Array.from({ length: model.config.nLayers }, (_, l) => [
        `blocks.${l}.attn.${point}`,
        (t: Parameters<typeof backend.read>[0]) => void reads.push(backend.read(t)),
      ]),
    );
    return { hooks, reads };
  };
  /** Wall time of one forward pass with `make()`'s hooks, its results read back. */
  const run = async (make: () => { hooks: Hooks; reads: Promise<unknown>[] }) => {
    const { hooks, reads } = make();
    const t0 = performance.now();
    const logits = await model.forward(tokens, { hooks });
    await backend.read(logits);
    await Promise.all(reads);
    backend.dispose(logits);
    return performance.now() - t0;
  };
  const variants = {
    plain: () => ({ hooks: {}, reads: [] }),
    fused: () => reading('hook_row_stats'),
    patterns: () => reading('hook_pattern'),
  };
  const runProbe = async () => {
    const t0 = performance.now();
    const r = await probeTokens(model, probeStream, { maxWindows: 1 });
    if (r.summary.tokens !== n) throw new Error(`probe ran ${r.summary.tokens} tokens, expected ${n}`);
    return performance.now() - t0;
  };
  // Warm-up (pipeline compilation, buffer pool growth), then the variants interleaved rep by rep
  // so drift in machine load falls on all of them alike; the best of each is kept.
  for (const make of Object.values(variants)) await run(make);
  await runProbe();
  const best = { plain: Infinity, fused: Infinity, patterns: Infinity, probe: Infinity };
  for (let i = 0; i < reps; i++) {
    for (const [name, make] of Object.entries(variants) as [
      Exclude<keyof typeof best, 'probe'>,
      () => ReturnType<typeof reading>,
    ][])
      best[name] = Math.min(best[name], await run(make));
    best.probe = Math.min(best.probe, await runProbe());
  }
  const { plain, fused, patterns, probe } = best;
  result[kind] = {
    device: backend.description,
    // SwiftShader runs WebGPU on the CPU cores: its ratio measures that emulation, not a GPU.
    cpu_emulated_gpu: kind === 'webgpu' && /swiftshader/i.test(backend.description),
    tokens: n,
    plain_ms: +plain.toFixed(1),
    fused_ms: +fused.toFixed(1),
    patterns_ms: +patterns.toFixed(1),
    probe_ms: +probe.toFixed(1),
    fused_over_plain: +(fused / plain).toFixed(3),
    patterns_over_plain: +(patterns / plain).toFixed(3),
    probe_over_plain: +(probe / plain).toFixed(3),
  };
  model.dispose();
  backend.destroy();
}
console.log(JSON.stringify(result));
process.exit(0);
