/**
 * The ONNX graph of a model from its files' bytes — no Node APIs, so Node (export.ts reads the
 * files) and Chromium (test/browser/ort-oracle.test.ts fetches them) build the same graph.
 */
import { gpt2Graph, type Gpt2Config } from './gpt2';
import { llamaGraph, type LlamaGraphOptions } from './llama';
import { hfLlamaWeights, llama2cWeights, parseSafetensorsF32, type HfLlamaConfig } from './weights';

export type Perturbation = NonNullable<LlamaGraphOptions['perturb']>;

/** A llama2.c `.bin` checkpoint, or an HF folder's config.json and model.safetensors. */
export type ModelBytes =
  | { format: 'llama2c'; name: string; checkpoint: Uint8Array }
  | { format: 'hf'; name: string; config: Uint8Array; safetensors: Uint8Array };

/**
 * The graph of a model for `tokens` positions (int64 `tokens` in, `logits` [tokens, vocab] out),
 * optionally with a deliberate mistake.
 *
 * @example
 * const graph = modelGraph({ format: 'llama2c', name: 'stories260K.bin', checkpoint }, 48);
 */
export function modelGraph(model: ModelBytes, tokens: number, perturb?: Perturbation): Uint8Array {
  if (model.format === 'llama2c')
    return llamaGraph(llama2cWeights(model.checkpoint, model.name), { tokens, perturb });
  const config = JSON.parse(new TextDecoder().decode(model.config)) as { model_type?: string };
  const tensors = () => parseSafetensorsF32(model.safetensors, `${model.name}/model.safetensors`);
  if (config.model_type === 'gpt2') {
    if (perturb?.ropeStyle) throw new Error('GPT-2 has no RoPE to perturb');
    return gpt2Graph(config as Gpt2Config, tensors(), model.name, { tokens, perturb });
  }
  if (config.model_type === 'llama') {
    const weights = hfLlamaWeights(config as HfLlamaConfig, tensors(), model.name);
    return llamaGraph(weights, { tokens, perturb });
  }
  throw new Error(`${model.name}/config.json: model_type ${config.model_type} has no ONNX export here`);
}
