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
import { gpt2Graph } from './gpt2';
import { llamaGraph, type LlamaGraphOptions } from './llama';
import { readHfLlama, readLlama2c } from './weights';

export type Perturbation = NonNullable<LlamaGraphOptions['perturb']>;

/** The graph of `model` for `tokens` positions, optionally with a deliberate mistake. */
export function exportGraph(model: string, tokens: number, perturb?: Perturbation): Uint8Array {
  if (!statSync(model).isDirectory()) return llamaGraph(readLlama2c(model), { tokens, perturb });
  const config = JSON.parse(readFileSync(path.join(model, 'config.json'), 'utf8')) as { model_type?: string };
  if (config.model_type === 'gpt2') {
    if (perturb?.ropeStyle) throw new Error('GPT-2 has no RoPE to perturb');
    return gpt2Graph(model, { tokens, perturb });
  }
  if (config.model_type === 'llama') return llamaGraph(readHfLlama(model), { tokens, perturb });
  throw new Error(`${model}/config.json: model_type ${config.model_type} has no ONNX export here`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const [model, tokens, out] = process.argv.slice(2);
  if (!model || !tokens || !out) {
    console.error('usage: npx tsx tools/onnx/export.ts MODEL TOKENS OUT.onnx');
    process.exit(2);
  }
  const bytes = exportGraph(model, Number(tokens));
  writeFileSync(out, bytes);
  console.log(`${out}: ${bytes.length} bytes`);
}
