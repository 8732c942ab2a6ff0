/**
 * Hugging Face `config.json` → LlamaConfig, for `LlamaForCausalLM` and `MixtralForCausalLM`.
 * Every field the runtime depends on is checked; options the runtime does not implement (rope
 * scaling, biases, a sliding window shorter than the context, another activation) are rejected
 * loudly rather than ignored, since ignoring them would give plausible but wrong logits.
 */
import { formatCount, ModelFormatError } from '../errors';
import { llamaConfig, type LlamaConfig, type MoeConfig } from '../model/llama-config';

/** Architectures this runtime can run, as HF names them in `architectures`. */
export const HF_ARCHITECTURES = {
  LlamaForCausalLM: 'llama',
  MixtralForCausalLM: 'mixtral',
} as const;

export type HfArchitecture = keyof typeof HF_ARCHITECTURES;

/** A parsed config: the runtime's config plus which HF architecture it came from. */
export interface HfModelConfig {
  architecture: HfArchitecture;
  config: LlamaConfig;
}

/** Upper bounds no model this runtime could hold reaches; beyond them the file is garbage. */
const LIMITS: Record<string, number> = {
  hidden_size: 1 << 16,
  intermediate_size: 1 << 18,
  num_hidden_layers: 1 << 10,
  num_attention_heads: 1 << 10,
  num_key_value_heads: 1 << 10,
  vocab_size: 1 << 22,
  max_position_embeddings: 1 << 20,
  num_local_experts: 1 << 10,
  num_experts_per_tok: 1 << 10,
  head_dim: 1 << 12,
};

/**
 * Parse and validate a HF config (`config.json` as bytes or text, or its parsed JSON).
 *
 * @example
 * const { architecture, config } = parseHfConfig(await (await fetch('config.json')).text(), 'config.json');
 * config.moe?.nExperts; // 8 for a Mixtral-style model, undefined for Llama
 * @throws ModelFormatError naming `fileName` for invalid JSON, an unknown architecture, a missing
 *   or non-integer field, inconsistent head counts, or an unsupported option.
 */
export function parseHfConfig(
  json: string | ArrayBuffer | Uint8Array | object,
  fileName: string,
): HfModelConfig {
  const fail = (problem: string): never => {
    throw new ModelFormatError(fileName, problem);
  };
  if (json instanceof ArrayBuffer || json instanceof Uint8Array) {
    try {
      json = new TextDecoder('utf-8', { fatal: true }).decode(json);
    } catch {
      fail('invalid config: not valid UTF-8');
    }
  }
  let raw: unknown = json;
  if (typeof json === 'string') {
    try {
      raw = JSON.parse(json);
    } catch (e) {
      fail(`invalid config: not JSON (${(e as Error).message})`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail('invalid config: expected a JSON object');
  const c = raw as Record<string, unknown>;
  const architecture = pickArchitecture(c, fail);

  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (v === undefined || v === null) return fail(`invalid config: "${key}" is missing`);
    if (!Number.isSafeInteger(v) || (v as number) <= 0) {
      return fail(`invalid config: "${key}" must be a positive integer, found ${JSON.stringify(v)}`);
    }
    if ((v as number) > LIMITS[key]!) {
      fail(
        `invalid config: "${key}" = ${formatCount(v as number)} exceeds the supported maximum ${formatCount(LIMITS[key]!)}`,
      );
    }
    return v as number;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      return fail(`invalid config: "${key}" must be a positive number, found ${JSON.stringify(v)}`);
    }
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'boolean')
      return fail(`invalid config: "${key}" must be true or false, found ${JSON.stringify(v)}`);
    return v;
  };

  const dim = int('hidden_size');
  const nHeads = int('num_attention_heads');
  const nKvHeads = int('num_key_value_heads', nHeads);
  const seqLen = int('max_position_embeddings');
  if (dim % nHeads !== 0)
    fail(`invalid config: hidden_size ${dim} is not divisible by num_attention_heads ${nHeads}`);
  if (nHeads % nKvHeads !== 0) {
    fail(`invalid config: num_attention_heads ${nHeads} is not divisible by num_key_value_heads ${nKvHeads}`);
  }
  if (c.head_dim !== undefined && c.head_dim !== null && int('head_dim') !== dim / nHeads) {
    fail(
      `invalid config: head_dim ${String(c.head_dim)} differs from hidden_size / num_attention_heads = ${dim / nHeads}; such models are not supported`,
    );
  }
  if ((dim / nHeads) % 2 !== 0)
    fail(`invalid config: head size ${dim / nHeads} is odd (rotary embedding needs pairs)`);
  rejectUnsupported(c, seqLen, fail);

  let moe: MoeConfig | null = null;
  if (architecture === 'MixtralForCausalLM') {
    // HF MixtralConfig defaults: 8 experts, top-2; Mixtral always renormalises the top-k weights.
    const nExperts = int('num_local_experts', 8);
    const topK = int('num_experts_per_tok', 2);
    if (topK > nExperts)
      fail(`invalid config: num_experts_per_tok ${topK} exceeds num_local_experts ${nExperts}`);
    moe = { nExperts, topK, normTopKProb: bool('norm_topk_prob', true) };
  }
  const base = llamaConfig({
    dim,
    hiddenDim: int('intermediate_size'),
    nLayers: int('num_hidden_layers'),
    nHeads,
    nKvHeads,
    vocabSize: int('vocab_size'),
    seqLen,
    // HF LlamaConfig and MixtralConfig both default to an untied lm_head.
    sharedClassifier: bool('tie_word_embeddings', false),
  });
  // Defaults are HF's own for each config class (written out by save_pretrained anyway).
  const mixtral = architecture === 'MixtralForCausalLM';
  const config: LlamaConfig = {
    ...base,
    normEps: num('rms_norm_eps', mixtral ? 1e-5 : 1e-6),
    ropeTheta: num('rope_theta', mixtral ? 1e6 : 10000),
    moe,
  };
  return { architecture, config };
}

function pickArchitecture(c: Record<string, unknown>, fail: (p: string) => never): HfArchitecture {
  const known = Object.keys(HF_ARCHITECTURES) as HfArchitecture[];
  const supported = `supported: ${known.join(', ')}`;
  const archs = c.architectures;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string')) {
      return fail('invalid config: "architectures" must be a list of names');
    }
    const found = known.filter((k) => archs.includes(k));
    if (found.length !== 1) {
      return fail(`unknown architecture ${JSON.stringify(archs)}; ${supported}`);
    }
    const a = found[0]!;
    if (c.model_type !== undefined && c.model_type !== HF_ARCHITECTURES[a]) {
      fail(`invalid config: architectures says ${a} but model_type is ${JSON.stringify(c.model_type)}`);
    }
    return a;
  }
  const byType = known.find((k) => HF_ARCHITECTURES[k] === c.model_type);
  if (!byType) {
    return fail(
      `unknown architecture: no "architectures" and model_type ${JSON.stringify(c.model_type)}; ${supported}`,
    );
  }
  return byType;
}

/** Options the forward pass does not implement; accepting them would give wrong logits. */
function rejectUnsupported(c: Record<string, unknown>, seqLen: number, fail: (p: string) => never): void {
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') fail(`unsupported config: hidden_act ${JSON.stringify(act)} (only "silu")`);
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) {
    fail(`unsupported config: rope_scaling ${JSON.stringify(c.rope_scaling)} (only plain rotary embeddings)`);
  }
  for (const key of ['attention_bias', 'mlp_bias']) {
    if (c[key] === true) fail(`unsupported config: ${key} is true (only bias-free projections)`);
  }
  const window = c.sliding_window;
  if (window !== undefined && window !== null && !(typeof window === 'number' && window >= seqLen)) {
    fail(
      `unsupported config: sliding_window ${JSON.stringify(window)} is shorter than max_position_embeddings ${seqLen} (only full causal attention)`,
    );
  }
}
