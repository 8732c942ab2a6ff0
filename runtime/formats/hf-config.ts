/**
 * Hugging Face `config.json` → the runtime's config, for every architecture in the registry
 * (runtime/model/arch/registry.ts). Every field the forward depends on is checked; options the
 * runtime does not implement are refused naming config.json and the option, since ignoring them
 * would give plausible but wrong logits.
 */
import { ModelFormatError } from '../errors';
import type { LlamaConfig } from '../model/llama-config';
import { ConfigReader } from '../model/arch/config-reader';
import {
  ARCHITECTURES,
  architectureByModelType,
  architectureByName,
  type ArchitectureSpec,
} from '../model/arch/registry';

/** HF architecture names this runtime can run. */
export const HF_ARCHITECTURES: readonly string[] = ARCHITECTURES.map((a) => a.name);

export type HfArchitecture = string;

/** A parsed config: the runtime's config plus the architecture that reads its checkpoint. */
export interface HfModelConfig {
  architecture: HfArchitecture;
  config: LlamaConfig;
  spec: ArchitectureSpec;
}

/**
 * Parse and validate a HF config (`config.json` as bytes or text, or its parsed JSON).
 *
 * @example
 * const { architecture, config } = parseHfConfig(await (await fetch('config.json')).text(), 'config.json');
 * config.moe?.nExperts; // 8 for a Mixtral-style model, undefined for Llama
 * @throws ModelFormatError naming `fileName` for invalid JSON, an unknown architecture, a missing
 *   or out-of-range field, inconsistent head counts, or an unsupported option.
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
  const spec = pickArchitecture(c, fail);
  const config = spec.config(new ConfigReader(c, fileName));
  if (config.block?.positions.kind === 'rope' && config.headDim % 2 !== 0) {
    fail(`invalid config: head size ${config.headDim} is odd (rotary embedding needs pairs)`);
  }
  checkModelSize(config, fail);
  return { architecture: spec.name, config, spec };
}

/** Above this many stored tensors per model (layers × experts), a config is not a real model. */
const MAX_EXPERT_TENSORS = 1 << 16;
/** 2^35 parameters need 128 GiB as float32: no tab or Node process here holds that. */
const MAX_PARAMETERS = 2 ** 35;

/** Refuse a model this runtime could never hold, from the config alone, before allocating anything. */
function checkModelSize(c: LlamaConfig, fail: (p: string) => never): void {
  const { dim, hiddenDim, nLayers, vocabSize, kvDim } = c;
  const experts = c.moe ? c.moe.nExperts : 1;
  if (nLayers * experts > MAX_EXPERT_TENSORS) {
    fail(
      `invalid config: ${nLayers} layers × ${experts} experts is beyond any real model (at most ${MAX_EXPERT_TENSORS} expert FFNs)`,
    );
  }
  // An upper bound of what the tensor tables hold: q/k/v/o at the heads' width (an explicit
  // head_dim may exceed dim / heads), every FFN gated, the router and shared expert, learned
  // positions, and the norm and bias vectors.
  const qDim = c.nHeads * c.headDim;
  const shared = c.moe?.sharedExpert ? 3 * c.moe.sharedExpert.hiddenDim * dim + dim : 0;
  const router = c.moe ? experts * dim : 0;
  const vectors = 8 * dim + 2 * qDim + 3 * kvDim + 2 * hiddenDim;
  const perLayer = (2 * qDim + 2 * kvDim) * dim + 3 * hiddenDim * dim * experts + shared + router + vectors;
  const positions = c.block?.positions.kind === 'learned' ? c.seqLen * dim : 0;
  const params = nLayers * perLayer + 2 * vocabSize * dim + positions + 2 * dim;
  if (!(params <= MAX_PARAMETERS)) {
    fail(
      `invalid config: the sizes imply ${params.toExponential(2)} parameters (${((params * 4) / 2 ** 30).toFixed(0)} GiB as float32), beyond what this runtime can hold`,
    );
  }
}

function pickArchitecture(c: Record<string, unknown>, fail: (p: string) => never): ArchitectureSpec {
  const supported = `supported: ${HF_ARCHITECTURES.join(', ')}`;
  const archs = c.architectures;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string')) {
      return fail('invalid config: "architectures" must be a list of names');
    }
    const found = archs.map(architectureByName).filter((a) => a !== undefined);
    if (found.length !== 1) return fail(`unknown architecture ${JSON.stringify(archs)}; ${supported}`);
    const spec = found[0]!;
    if (c.model_type !== undefined && !spec.modelTypes.includes(c.model_type as string)) {
      fail(
        `invalid config: architectures says ${spec.name} but model_type is ${JSON.stringify(c.model_type)}`,
      );
    }
    return spec;
  }
  const byType = typeof c.model_type === 'string' ? architectureByModelType(c.model_type) : undefined;
  if (!byType) {
    const type =
      c.model_type === undefined ? 'no "model_type"' : `model_type ${JSON.stringify(c.model_type)}`;
    return fail(`unknown architecture: no "architectures" and ${type}; ${supported}`);
  }
  return byType;
}
