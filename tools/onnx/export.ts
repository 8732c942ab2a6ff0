/**
 * ONNX graphs of Sparsebook's models from their own weights, for onnxruntime-web as an oracle
 * (test/oracle/ort-oracle.test.ts) and as a speed peer (`npm run bench:forward -- --peer ort`).
 *
 *   npx tsx tools/onnx/export.ts MODEL TOKENS OUT.onnx
 *
 * MODEL is a llama2.c `.bin` checkpoint or an HF folder (Llama family or GPT-2); the graph takes
 * exactly TOKENS int64 token ids (`tokens`) and returns `logits` [TOKENS, vocab].
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { modelGraph, type Perturbation } from './model-graph';

export type { Perturbation };

/** The graph of the model at `model` (file or folder) for `tokens` positions, optionally with a deliberate mistake. */
export function exportGraph(model: string, tokens: number, perturb?: Perturbation): Uint8Array {
  if (!statSync(model).isDirectory()) {
    const name = path.basename(model);
    return modelGraph({ format: 'llama2c', name, checkpoint: readFileSync(model) }, tokens, perturb);
  }
  const config = readFileSync(path.join(model, 'config.json'));
  const safetensors = readFileSync(path.join(model, 'model.safetensors'));
  return modelGraph({ format: 'hf', name: model, config, safetensors }, tokens, perturb);
}

// Run as a script — not when bundled into another entry (bench/gpu-device's pack), whose file is argv[1].
const self = import.meta.filename;
if (self.endsWith('export.ts') && process.argv[1] && path.resolve(process.argv[1]) === self) {
  const [model, tokens, out] = process.argv.slice(2);
  if (!model || !tokens || !out) {
    console.error('usage: npx tsx tools/onnx/export.ts MODEL TOKENS OUT.onnx');
    process.exit(2);
  }
  const bytes = exportGraph(model, Number(tokens));
  writeFileSync(out, bytes);
  console.log(`${out}: ${bytes.length} bytes`);
}
