/**
 * The architectures the runtime runs, by HF `architectures` name: an explicit, frozen list.
 */
import type { ArchitectureSpec } from './common';
import { GEMMA2, GEMMA3 } from './gemma';
import { GPT2, GPT_NEOX } from './gpt2-neox';
import { LLAMA, MISTRAL, OLMO2, QWEN2, QWEN3 } from './llama-family';
import { GRANITE_MOE, MIXTRAL, OLMOE, QWEN2_MOE, QWEN3_MOE } from './moe-family';

export const ARCHITECTURES: readonly ArchitectureSpec[] = Object.freeze([
  GPT2,
  GPT_NEOX,
  LLAMA,
  MISTRAL,
  QWEN2,
  QWEN3,
  GEMMA2,
  GEMMA3,
  OLMO2,
  MIXTRAL,
  OLMOE,
  QWEN2_MOE,
  QWEN3_MOE,
  GRANITE_MOE,
]);

export function architectureByName(name: string): ArchitectureSpec | undefined {
  return ARCHITECTURES.find((a) => a.name === name);
}

export function architectureByModelType(modelType: string): ArchitectureSpec | undefined {
  return ARCHITECTURES.find((a) => a.modelTypes.includes(modelType));
}

export type { ArchitectureSpec } from './common';
