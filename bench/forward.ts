/**
 * bench/forward: tokens/s of one full-window forward pass (default 512 tokens of stories260K) on
 * each backend, measured in the same run; prints one JSON line with the webgpu/cpu ratio.
 *
 *   node --import ./cli/register.mjs bench/forward.ts [--model M --tokenizer T --tokens 512 --reps 3]
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadModel, readText } from '../cli/session';
import { buildTokenStream } from '../runtime';

const shared = process.env.SPARSEBOOK_SHARED ?? path.resolve(import.meta.dirname, '../../shared');
const { values: f } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models/stories260K/stories260K.bin') },
    tokenizer: { type: 'string', default: path.join(shared, 'models/stories260K/tok512.bin') },
    text: { type: 'string', default: path.join(shared, 'data/tinystories-valid-1000.txt') },
    tokens: { type: 'string', default: '512' },
    reps: { type: 'string', default: '3' },
    backends: { type: 'string', default: 'cpu,webgpu' },
  },
});

const reps = Number(f.reps);
const result: Record<string, unknown> = { bench: 'forward', model: path.basename(f.model!) };
const text = await readText(f.text!);
for (const kind of f.backends!.split(',') as ('cpu' | 'webgpu')[]) {
  const { backend, model, tokenizer } = await loadModel(kind, f.model!, f.tokenizer!);
  const n = Math.min(Number(f.tokens), model.config.seqLen);
  const tokens = buildTokenStream(tokenizer, text).tokens.slice(0, n);
  // Warm-up: pipeline compilation and buffer-pool growth are one-time costs.
  backend.dispose(await model.forward(tokens));
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const logits = await model.forward(tokens);
    await backend.read(logits);
    times.push(performance.now() - t0);
    backend.dispose(logits);
  }
  const best = Math.min(...times);
  result[kind] = {
    device: backend.description,
    tokens: n,
    ms: +best.toFixed(1),
    tokens_per_s: +((n / best) * 1000).toFixed(1),
  };
  model.dispose();
  backend.destroy();
}
const cpu = result.cpu as { tokens_per_s: number } | undefined;
const gpu = result.webgpu as { tokens_per_s: number } | undefined;
if (cpu && gpu) result.webgpu_over_cpu = +(gpu.tokens_per_s / cpu.tokens_per_s).toFixed(3);
console.log(JSON.stringify(result));
process.exit(0);
