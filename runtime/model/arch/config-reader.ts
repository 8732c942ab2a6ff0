/**
 * Typed, range-checked reads of an HF `config.json`. Every failure is a ModelFormatError naming the
 * file and the key; values outside what any real model uses are refused before anything is
 * allocated (an absurd config must not cost gigabytes before its error).
 */
import { formatCount, ModelFormatError } from '../../errors';

/** Upper bounds no model this runtime could hold reaches; beyond them the file is garbage. */
const INT_LIMITS: Readonly<Record<string, number>> = {
  hidden_size: 1 << 16,
  n_embd: 1 << 16,
  intermediate_size: 1 << 18,
  n_inner: 1 << 18,
  moe_intermediate_size: 1 << 18,
  shared_expert_intermediate_size: 1 << 18,
  num_hidden_layers: 1 << 10,
  n_layer: 1 << 10,
  num_attention_heads: 1 << 10,
  n_head: 1 << 10,
  num_key_value_heads: 1 << 10,
  vocab_size: 1 << 22,
  max_position_embeddings: 1 << 20,
  n_positions: 1 << 20,
  num_local_experts: 1 << 10,
  num_experts: 1 << 10,
  num_experts_per_tok: 1 << 10,
  head_dim: 1 << 12,
  sliding_window: 1 << 24,
  sliding_window_pattern: 1 << 10,
  query_pre_attn_scalar: 1 << 16,
  original_max_position_embeddings: 1 << 24,
  decoder_sparse_step: 1 << 10,
};

/**
 * Ranges of the real-valued fields, [min, max] (or [min, max) when the third entry is true);
 * outside them the config is refused.
 */
const NUM_RANGES: Readonly<Record<string, readonly [number, number, boolean?]>> = {
  rms_norm_eps: [1e-12, 0.1, true],
  layer_norm_eps: [1e-12, 0.1, true],
  layer_norm_epsilon: [1e-12, 0.1, true],
  rope_theta: [1, 1e12],
  rotary_emb_base: [1, 1e12],
  rope_local_base_freq: [1, 1e12],
  rotary_pct: [1e-6, 1],
  attn_logit_softcapping: [1e-3, 1e6],
  final_logit_softcapping: [1e-3, 1e6],
  embedding_multiplier: [1e-6, 1e6],
  attention_multiplier: [1e-6, 1e6],
  residual_multiplier: [1e-6, 1e6],
  logits_scaling: [1e-6, 1e6],
  factor: [1e-3, 1e6],
  low_freq_factor: [1e-6, 1e6],
  high_freq_factor: [1e-6, 1e6],
  query_pre_attn_scalar: [1, 1 << 16],
  original_max_position_embeddings: [1, 1 << 24],
};

/** Smallest max_position_embeddings accepted: a model must see at least a few tokens. */
const MIN_POSITIONS = 8;

export class ConfigReader {
  constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    readonly fileName: string,
  ) {}

  fail(problem: string): never {
    throw new ModelFormatError(this.fileName, problem);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  /** A positive integer (bounded by INT_LIMITS); `fallback` when the key is absent or null. */
  int(key: string, fallback?: number): number {
    const v = this.has(key) ? this.raw[key] : fallback;
    if (v === undefined) return this.fail(`invalid config: "${key}" is missing`);
    if (!Number.isSafeInteger(v) || (v as number) <= 0) {
      return this.fail(`invalid config: "${key}" must be a positive integer, found ${JSON.stringify(v)}`);
    }
    const limit = INT_LIMITS[key];
    if (limit !== undefined && (v as number) > limit) {
      this.fail(
        `invalid config: "${key}" = ${formatCount(v as number)} exceeds the supported maximum ${formatCount(limit)}`,
      );
    }
    if ((key === 'max_position_embeddings' || key === 'n_positions') && (v as number) < MIN_POSITIONS) {
      this.fail(`invalid config: "${key}" = ${String(v)} is below the minimum ${MIN_POSITIONS}`);
    }
    return v as number;
  }

  /** A finite positive number within NUM_RANGES; `fallback` when absent or null. */
  num(key: string, fallback?: number, from: Readonly<Record<string, unknown>> = this.raw): number {
    const present = from[key] !== undefined && from[key] !== null;
    const v = present ? from[key] : fallback;
    if (v === undefined) return this.fail(`invalid config: "${key}" is missing`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      return this.fail(`invalid config: "${key}" must be a positive number, found ${JSON.stringify(v)}`);
    }
    const range = NUM_RANGES[key];
    if (range && (v < range[0] || v > range[1] || (range[2] && v === range[1]))) {
      this.fail(
        `invalid config: "${key}" = ${v} is outside the plausible range [${range[0]}, ${range[1]}${range[2] ? ')' : ']'}`,
      );
    }
    return v;
  }

  /** A number, or undefined when the key is absent or null (soft-capping, multipliers). */
  optionalNum(key: string): number | undefined {
    return this.has(key) ? this.num(key) : undefined;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.has(key) ? this.raw[key] : fallback;
    if (typeof v !== 'boolean')
      return this.fail(`invalid config: "${key}" must be true or false, found ${JSON.stringify(v)}`);
    return v;
  }

  /** A string among `allowed`; anything else is refused naming the option. */
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.has(key) ? this.raw[key] : fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      return this.fail(
        `unsupported config: ${key} ${JSON.stringify(v)} (supported: ${allowed.map((a) => JSON.stringify(a)).join(', ')})`,
      );
    }
    return v as T;
  }

  /** Refuse an option this runtime does not implement when it is set to anything but `off`. */
  refuse(key: string, why: string, isOff: (v: unknown) => boolean = (v) => v === false): void {
    if (this.has(key) && !isOff(this.raw[key])) {
      this.fail(`unsupported config: ${key} = ${JSON.stringify(this.raw[key])} (${why})`);
    }
  }
}
