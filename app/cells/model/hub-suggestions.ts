/**
 * Small models on the Hugging Face hub that fit a browser tab, offered by the Model cell (ids as on
 * the hub). `params` is the parameter count; the runtime holds weights as float32, so a model takes
 * about 4 bytes per parameter on the GPU. Gated models need an access token with their licence
 * accepted on the hub.
 */
export interface HubSuggestion {
  id: string;
  label: string;
  params: number;
  gated?: boolean;
  moe?: boolean;
}

export const HUB_SUGGESTIONS: readonly HubSuggestion[] = [
  { id: 'openai-community/gpt2', label: 'GPT-2 small', params: 124e6 },
  { id: 'EleutherAI/pythia-70m', label: 'Pythia-70m', params: 70e6 },
  { id: 'EleutherAI/pythia-160m', label: 'Pythia-160m', params: 162e6 },
  { id: 'HuggingFaceTB/SmolLM2-135M', label: 'SmolLM2-135M', params: 135e6 },
  { id: 'HuggingFaceTB/SmolLM2-360M', label: 'SmolLM2-360M', params: 362e6 },
  { id: 'Qwen/Qwen2.5-0.5B', label: 'Qwen2.5-0.5B', params: 494e6 },
  { id: 'Qwen/Qwen3-0.6B', label: 'Qwen3-0.6B', params: 596e6 },
  { id: 'google/gemma-3-270m', label: 'Gemma 3 270M', params: 268e6, gated: true },
  { id: 'google/gemma-3-1b-pt', label: 'Gemma 3 1B', params: 1.0e9, gated: true },
  { id: 'meta-llama/Llama-3.2-1B', label: 'Llama 3.2 1B', params: 1.24e9, gated: true },
  {
    id: 'ibm-granite/granite-3.0-1b-a400m-base',
    label: 'Granite 3 1B-A400M (MoE)',
    params: 1.33e9,
    moe: true,
  },
];
