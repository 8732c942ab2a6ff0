/**
 * Writer for llama2.c checkpoints: legacy (default; what run.c and most tools read) or version 1.
 * Used to export pruned models and to build small synthetic checkpoints in tests.
 */
import { assertLlamaArchitecture, hasHfRotaryLayout, unpermuteRotary } from './hf-write';
import {
  blockOf,
  type LlamaConfig,
  type LlamaLayerMatrixKey,
  type LlamaWeights,
} from '../model/llama-config';
import {
  floatCount,
  LEGACY_HEADER_BYTES,
  LLAMA2C_MAGIC,
  sections,
  V1_HEADER_BYTES,
  type Llama2cVersion,
} from './llama2c-layout';

/** The constants llama2.c readers assume (run.c). */
const LLAMA2C_ROPE_THETA = 10000;
const LLAMA2C_NORM_EPS = 1e-5;

/**
 * Serialize weights as a llama2.c `.bin` file.
 *
 * @example
 * const bytes = writeLlama2c(ckpt.config, prunedWeights); // legacy format
 * parseLlama2c(bytes, 'pruned.bin'); // round-trips
 * @throws Error when a weight array's length does not match `config` (a programming error), for
 *   an MoE config (llama2.c files have no place for a router or experts), or for a value the
 *   header cannot carry (`llama2cUnrepresentable`).
 */
export function writeLlama2c(
  config: LlamaConfig,
  weights: LlamaWeights,
  options: { version?: Llama2cVersion } = {},
): Uint8Array {
  const version = options.version ?? 0;
  if (config.moe) {
    throw new Error(
      `writeLlama2c: llama2.c files hold dense models only; this config is a mixture of ${config.moe.nExperts} experts (save it as safetensors instead)`,
    );
  }
  assertLlamaArchitecture(config, 'writeLlama2c');
  const unrepresentable = llama2cUnrepresentable(config);
  if (unrepresentable) throw new Error(unrepresentable);
  checkWeights(config, weights);
  // llama2.c rotates interleaved pairs: weights loaded from an HF checkpoint go back to that order.
  if (hasHfRotaryLayout(config)) {
    weights = {
      ...weights,
      layers: weights.layers.map((l) => ({
        ...l,
        wq: unpermuteRotary(l.wq, config.nHeads, config.headDim, config.dim),
        wk: unpermuteRotary(l.wk, config.nKvHeads, config.headDim, config.dim),
      })),
    };
  }
  const headerBytes = version === 1 ? V1_HEADER_BYTES : LEGACY_HEADER_BYTES;
  const out = new Uint8Array(headerBytes + floatCount(config, version) * 4);
  const view = new DataView(out.buffer);
  const ints = [
    config.dim,
    config.hiddenDim,
    config.nLayers,
    config.nHeads,
    config.nKvHeads,
    // Legacy files say "classifier not shared" with a negative vocab_size.
    version === 0 && !config.sharedClassifier ? -config.vocabSize : config.vocabSize,
    config.seqLen,
  ];
  let pos = 0;
  if (version === 1) {
    view.setUint32(0, LLAMA2C_MAGIC, true);
    view.setInt32(4, 1, true);
    pos = 8;
  }
  for (const v of ints) {
    view.setInt32(pos, v, true);
    pos += 4;
  }
  if (version === 1) out[pos] = config.sharedClassifier ? 1 : 0;

  const floats = new Float32Array(out.buffer, headerBytes);
  let offset = 0;
  const put = (a: Float32Array) => {
    floats.set(a, offset);
    offset += a.length;
  };
  const [cos, sin] = rotaryTables(config);
  for (const s of sections(config, version)) {
    if (s.perLayer) {
      for (const layer of weights.layers) put(layer[s.key as LlamaLayerMatrixKey]);
    } else if (s.key === 'freqCisReal') put(cos);
    else if (s.key === 'freqCisImag') put(sin);
    else if (s.key === 'tokEmbeddings') put(weights.tokEmbeddings);
    else if (s.key === 'norm') put(weights.norm);
    else if (s.key === 'output') put(weights.output!);
  }
  return out;
}

/**
 * The cos/sin tables legacy files carry ([seqLen, headDim/2], as model.py `precompute_freqs_cis`);
 * run.c ignores them, but older readers use them, so write real values rather than zeros.
 */
function rotaryTables(c: LlamaConfig): [Float32Array, Float32Array] {
  const half = c.headDim / 2;
  const cos = new Float32Array(c.seqLen * half);
  const sin = new Float32Array(c.seqLen * half);
  for (let t = 0; t < c.seqLen; t++) {
    for (let i = 0; i < half; i++) {
      const freq = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
      cos[t * half + i] = Math.cos(t * freq);
      sin[t * half + i] = Math.sin(t * freq);
    }
  }
  return [cos, sin];
}

/**
 * A llama2.c header carries seven integers; readers assume the rest (run.c: rms_norm_eps 1e-5,
 * rope_theta 10000, head_dim = dim / n_heads, full causal attention, no rotary scaling). A model
 * whose values differ would be written without them and reopen as a different model: this names
 * the first such value, or returns null when the model fits.
 *
 * @example
 * llama2cUnrepresentable(smolLm.config);
 * // 'writeLlama2c: rope_theta is 100000, which a llama2.c file cannot record (…); save it as HF safetensors instead'
 */
export function llama2cUnrepresentable(c: LlamaConfig): string | null {
  const problem = (): string | null => {
    if (c.ropeTheta !== LLAMA2C_ROPE_THETA) return `rope_theta is ${c.ropeTheta}`;
    if (c.normEps !== LLAMA2C_NORM_EPS) return `rms_norm_eps is ${c.normEps}`;
    if (c.headDim * c.nHeads !== c.dim)
      return `head_dim is ${c.headDim}, not dim / n_heads = ${c.dim / c.nHeads}`;
    for (const [i, l] of blockOf(c).layers.entries()) {
      if (l.window !== null) return `layer ${i} has a sliding window of ${l.window}`;
      if (l.ropeTheta !== c.ropeTheta) return `layer ${i} has rope_theta ${l.ropeTheta}`;
      if (l.ropeScaling) return `layer ${i} has rope_scaling ${JSON.stringify(l.ropeScaling)}`;
    }
    return null;
  };
  const what = problem();
  return what === null
    ? null
    : `writeLlama2c: ${what}, which a llama2.c file cannot record (its readers assume rms_norm_eps 1e-5, rope_theta 10000, head_dim = dim / n_heads, full attention); save it as HF safetensors instead`;
}

function checkWeights(c: LlamaConfig, w: LlamaWeights): void {
  const expect = (name: string, a: Float32Array | null | undefined, n: number) => {
    if (!a || a.length !== n) {
      throw new Error(`writeLlama2c: ${name} has ${a ? a.length : 'no'} elements, expected ${n}`);
    }
  };
  expect('tok_embeddings', w.tokEmbeddings, c.vocabSize * c.dim);
  expect('norm', w.norm, c.dim);
  if (c.sharedClassifier) {
    if (w.output) throw new Error('writeLlama2c: config.sharedClassifier is true but weights.output is set');
  } else expect('output', w.output, c.vocabSize * c.dim);
  if (w.layers.length !== c.nLayers) {
    throw new Error(`writeLlama2c: ${w.layers.length} layers of weights, config says ${c.nLayers}`);
  }
  w.layers.forEach((l, i) => {
    const sizes: Record<LlamaLayerMatrixKey, number> = {
      attentionNorm: c.dim,
      wq: c.dim * c.dim,
      wk: c.kvDim * c.dim,
      wv: c.kvDim * c.dim,
      wo: c.dim * c.dim,
      ffnNorm: c.dim,
      w1: c.hiddenDim * c.dim,
      w2: c.dim * c.hiddenDim,
      w3: c.hiddenDim * c.dim,
    };
    for (const [k, n] of Object.entries(sizes)) expect(`layers.${i}.${k}`, l[k as LlamaLayerMatrixKey], n);
  });
}
