/**
 * A small table of well-known pretrained SAEs, as SAELens' `pretrained_saes.yaml` records them
 * (release, SAE id, Hugging Face repository and path, hook, architecture, model, Neuronpedia id,
 * config overrides such as `norm_scaling_factor` and `center_writing_weights`), so a user can pick
 * "GPT-2 small · res-jb · layer 8" instead of a hub path, and so files that do not say their hook
 * (Gemma Scope's params.npz) or a convention the yaml adds (res-jb's centred residual) load right.
 *
 * Not in the table, because their files are not in a format read here: SAELens releases with a
 * custom conversion from PyTorch pickles (gpt2-small-hook-z-kk, the OAI v5 32k resid-post .pt
 * files, dictionary_learning ae.pt such as the andyrdt Llama/Qwen BatchTopK SAEs) and Llama Scope
 * (its own hyperparams.json layout).
 */
import { parseHubId, type HubId } from '../../runtime/sources/hub-id';
import type { SaeFormat } from './pretrained';

export interface SaeRelease {
  /** `release/sae_id`, as SAELens' `SAE.from_pretrained(release, sae_id)` takes them. */
  id: string;
  /** What a picker shows. */
  label: string;
  release: string;
  saeId: string;
  /** Hugging Face repository and the folder (or file) inside it. */
  repo: string;
  path: string;
  format: SaeFormat;
  architecture: 'standard' | 'topk' | 'jumprelu' | 'gated';
  /** Our hook name (TransformerLens naming). */
  hook: string;
  /** SAELens' model name, and the Hugging Face model the SAE reads. */
  model: string;
  hfModel: string;
  dIn: number;
  dSae?: number;
  /** Neuronpedia `{model}/{sae}`: feature pages at https://www.neuronpedia.org/{model}/{sae}/{feature}. */
  neuronpedia?: string;
  /** `expected_average_only_in`: the dataset's norm scaling factor (yaml `norm_scaling_factor`). */
  normScalingFactor?: number;
  /** The yaml's `model_from_pretrained_kwargs.center_writing_weights: true`: the SAE reads x − mean(x). */
  centerWritingWeights?: boolean;
  /** Mean L0 the release reports. */
  l0?: number;
}

const gpt2ResJb = (layer: number, point: 'pre' | 'post', np: number, l0: number): SaeRelease => ({
  id: `gpt2-small-res-jb/blocks.${layer}.hook_resid_${point}`,
  label: `GPT-2 small · res-jb · ${point === 'pre' ? `layer ${layer}` : `layer ${layer} (resid post)`}`,
  release: 'gpt2-small-res-jb',
  saeId: `blocks.${layer}.hook_resid_${point}`,
  repo: 'jbloom/GPT2-Small-SAEs-Reformatted',
  path: `blocks.${layer}.hook_resid_${point}`,
  format: 'saelens',
  architecture: 'standard',
  hook: `blocks.${layer}.hook_resid_${point}`,
  model: 'gpt2-small',
  hfModel: 'openai-community/gpt2',
  dIn: 768,
  dSae: 24576,
  neuronpedia: `gpt2-small/${np}-res-jb`,
  centerWritingWeights: true,
  l0,
});

const gemmaScope = (size: '2b' | '9b', layer: number, averageL0: number, dIn: number): SaeRelease => ({
  id: `gemma-scope-${size}-pt-res-canonical/layer_${layer}/width_16k/canonical`,
  label: `Gemma 2 ${size.toUpperCase()} · Gemma Scope res 16k · layer ${layer}`,
  release: `gemma-scope-${size}-pt-res-canonical`,
  saeId: `layer_${layer}/width_16k/canonical`,
  repo: `google/gemma-scope-${size}-pt-res`,
  path: `layer_${layer}/width_16k/average_l0_${averageL0}`,
  format: 'gemma-scope',
  architecture: 'jumprelu',
  hook: `blocks.${layer}.hook_resid_post`,
  model: `gemma-2-${size}`,
  hfModel: `google/gemma-2-${size}`,
  dIn,
  dSae: 16384,
  neuronpedia: `gemma-2-${size}/${layer}-gemmascope-res-16k`,
  l0: averageL0,
});

const pythiaRes = (layer: number): SaeRelease => ({
  id: `pythia-70m-deduped-res-sm/blocks.${layer}.hook_resid_post`,
  label: `Pythia-70m-deduped · res-sm · layer ${layer}`,
  release: 'pythia-70m-deduped-res-sm',
  saeId: `blocks.${layer}.hook_resid_post`,
  repo: 'ctigges/pythia-70m-deduped__res-sm_processed',
  path: `${layer}-res-sm`,
  format: 'saelens',
  architecture: 'standard',
  hook: `blocks.${layer}.hook_resid_post`,
  model: 'pythia-70m-deduped',
  hfModel: 'EleutherAI/pythia-70m-deduped',
  dIn: 512,
  dSae: 32768,
  neuronpedia: `pythia-70m-deduped/${layer}-res-sm`,
});

/** The table (SAELens pretrained_saes.yaml entries, plus one EleutherAI sparsify and one Gemma Scope 2 SAE). */
export const SAE_RELEASES: readonly SaeRelease[] = [
  gpt2ResJb(4, 'pre', 4, 31),
  gpt2ResJb(8, 'pre', 8, 60),
  gpt2ResJb(11, 'post', 12, 70),
  {
    id: 'gpt2-small-attn-out-v5-32k/blocks.8.hook_attn_out',
    label: 'GPT-2 small · OpenAI v5 32k attn out · layer 8',
    release: 'gpt2-small-attn-out-v5-32k',
    saeId: 'blocks.8.hook_attn_out',
    repo: 'jbloom/GPT2-Small-OAI-v5-32k-attn-out-SAEs',
    path: 'v5_32k_layer_8',
    format: 'saelens',
    architecture: 'standard',
    hook: 'blocks.8.hook_attn_out',
    model: 'gpt2-small',
    hfModel: 'openai-community/gpt2',
    dIn: 768,
    dSae: 32768,
    neuronpedia: 'gpt2-small/8-att_32k-oai',
  },
  {
    id: 'gpt2-small-mlp-tm/blocks.8.hook_mlp_out',
    label: 'GPT-2 small · mlp-tm · layer 8',
    release: 'gpt2-small-mlp-tm',
    saeId: 'blocks.8.hook_mlp_out',
    repo: 'tommmcgrath/gpt2-small-mlp-out-saes',
    path: 'sae_group_gpt2_blocks.8.hook_mlp_out_24576:v1',
    format: 'saelens',
    architecture: 'standard',
    hook: 'blocks.8.hook_mlp_out',
    model: 'gpt2-small',
    hfModel: 'openai-community/gpt2',
    dIn: 768,
    dSae: 24576,
    normScalingFactor: 0.9123762783479742,
    l0: 36,
  },
  gemmaScope('2b', 12, 82, 2304),
  gemmaScope('2b', 20, 71, 2304),
  gemmaScope('9b', 20, 68, 3584),
  gemmaScope('9b', 31, 114, 3584),
  pythiaRes(3),
  pythiaRes(5),
  {
    id: 'llama-3-8b-it-res-jh/blocks.25.hook_resid_post',
    label: 'Llama 3 8B Instruct · res-jh · layer 25',
    release: 'llama-3-8b-it-res-jh',
    saeId: 'blocks.25.hook_resid_post',
    repo: 'Juliushanhanhan/llama-3-8b-it-res',
    path: 'blocks.25.hook_resid_post',
    format: 'saelens',
    architecture: 'standard',
    hook: 'blocks.25.hook_resid_post',
    model: 'meta-llama/Meta-Llama-3-8B-Instruct',
    hfModel: 'meta-llama/Meta-Llama-3-8B-Instruct',
    dIn: 4096,
    neuronpedia: 'llama3-8b-it/25-res-jh',
  },
  {
    id: 'EleutherAI/sae-llama-3-8b-32x/layers.10',
    label: 'Llama 3 8B · EleutherAI sparsify 32x · layer 10',
    release: 'EleutherAI/sae-llama-3-8b-32x',
    saeId: 'layers.10',
    repo: 'EleutherAI/sae-llama-3-8b-32x',
    path: 'layers.10',
    format: 'sparsify',
    architecture: 'topk',
    hook: 'blocks.10.hook_resid_post',
    model: 'meta-llama/Meta-Llama-3-8B',
    hfModel: 'meta-llama/Meta-Llama-3-8B',
    dIn: 4096,
    dSae: 131072,
  },
  {
    id: 'google/gemma-scope-2-1b-pt/resid_post_all/layer_12_width_16k_l0_big',
    label: 'Gemma 3 1B · Gemma Scope 2 res 16k (big L0) · layer 12',
    release: 'google/gemma-scope-2-1b-pt',
    saeId: 'resid_post_all/layer_12_width_16k_l0_big',
    repo: 'google/gemma-scope-2-1b-pt',
    path: 'resid_post_all/layer_12_width_16k_l0_big',
    format: 'gemma-scope-2',
    architecture: 'jumprelu',
    hook: 'blocks.12.hook_resid_post',
    model: 'gemma-3-1b-pt',
    hfModel: 'google/gemma-3-1b-pt',
    dIn: 1152,
    dSae: 16384,
  },
];

/** `hf:REPO/PATH` of a release entry. */
export function releaseHubId(r: SaeRelease): string {
  return `hf:${r.repo}/${r.path}`;
}

/**
 * The entry a user means: its id (`gpt2-small-res-jb/blocks.8.hook_resid_pre`), its label, or a
 * hub id / repository + path it lives at (any revision).
 *
 * @example
 * findRelease('gpt2-small-res-jb/blocks.8.hook_resid_pre')?.neuronpedia; // 'gpt2-small/8-res-jb'
 * findRelease(parseHubId('hf:google/gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71'))?.hook;
 * // 'blocks.20.hook_resid_post'
 */
export function findRelease(query: string | HubId): SaeRelease | undefined {
  if (typeof query === 'string') {
    const byName = SAE_RELEASES.find((r) => r.id === query || r.label === query);
    if (byName || !query.startsWith('hf:')) return byName;
    try {
      query = parseHubId(query);
    } catch {
      return undefined;
    }
  }
  const h = query;
  const path = h.path.replace(
    /\/(cfg\.json|sae_weights\.safetensors|sae\.safetensors|params\.npz|params\.safetensors)$/,
    '',
  );
  return SAE_RELEASES.find((r) => r.repo === h.repo && r.path === path);
}

/**
 * An SAE's Neuronpedia page (each part of the id escaped: the id comes from a file).
 *
 * @example
 * neuronpediaSaeUrl('gpt2-small/8-res-jb'); // 'https://www.neuronpedia.org/gpt2-small/8-res-jb'
 */
export function neuronpediaSaeUrl(neuronpedia: string): string {
  return `https://www.neuronpedia.org/${neuronpedia.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * A feature's Neuronpedia page.
 *
 * @example
 * neuronpediaFeatureUrl('gpt2-small/8-res-jb', 42); // 'https://www.neuronpedia.org/gpt2-small/8-res-jb/42'
 */
export function neuronpediaFeatureUrl(neuronpedia: string, feature: number): string {
  return `${neuronpediaSaeUrl(neuronpedia)}/${feature}`;
}
