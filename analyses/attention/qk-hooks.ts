/**
 * Where the attention analyses read the queries and keys scores are computed from: after rotary
 * embedding (`attn.hook_rot_q` / `attn.hook_rot_k`), or, in a model with learned positions (GPT-2)
 * and so no rotary step, `attn.hook_q` / `attn.hook_k` themselves.
 */
import { blockOf, type LlamaConfig } from '../../runtime/model/llama-config';

/**
 * The full hook names of layer `layer`'s scored queries and keys.
 *
 * @example
 * qkHooks(gpt2.config, 0); // { q: 'blocks.0.attn.hook_q', k: 'blocks.0.attn.hook_k' }
 */
export function qkHooks(config: LlamaConfig, layer: number): { q: string; k: string } {
  const rotary = blockOf(config).positions.kind === 'rope';
  const p = `blocks.${layer}.attn.hook_${rotary ? 'rot_' : ''}`;
  return { q: `${p}q`, k: `${p}k` };
}
