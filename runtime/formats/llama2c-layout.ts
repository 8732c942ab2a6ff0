/**
 * What a llama2.c checkpoint looks like: header constants, header validation, and the order in
 * which weight tensors follow the header. Shared by the reader and the writer so both agree.
 *
 * Legacy ("version 0", run.c `memory_map_weights`): 7 int32 then weights grouped by kind across
 * layers, with the two rotary tables between the final norm and an unshared classifier; a
 * negative vocab_size means the classifier is NOT shared.
 * Version 1 (export.py `version1_export`): uint32 magic "ak42", int32 version, the 7 int32, a uint8
 * shared-classifier flag, zero padding to 256 bytes; norms first, no rotary tables.
 */
import { formatCount, ModelFormatError } from '../errors';
import type { LlamaConfig, LlamaDims, LlamaLayerMatrixKey } from '../model/llama-config';

/** uint32 little-endian magic of version-1 files: the ASCII bytes "24ka", i.e. 0x616b3432. */
export const LLAMA2C_MAGIC = 0x616b3432;
export const LEGACY_HEADER_BYTES = 7 * 4;
export const V1_HEADER_BYTES = 256;

/** Header integers in file order, with llama2.c's own names (used in messages). */
export const HEADER_FIELDS = [
  'dim',
  'hidden_dim',
  'n_layers',
  'n_heads',
  'n_kv_heads',
  'vocab_size',
  'seq_len',
] as const;

/**
 * Upper bounds that no real llama2.c-sized model reaches; a header beyond them is garbage (often
 * a file of another format) and is rejected before any size arithmetic.
 */
const LIMITS: Record<(typeof HEADER_FIELDS)[number], number> = {
  dim: 1 << 16,
  hidden_dim: 1 << 18,
  n_layers: 1 << 10,
  n_heads: 1 << 10,
  n_kv_heads: 1 << 10,
  vocab_size: 1 << 22,
  seq_len: 1 << 20,
};

export type Llama2cVersion = 0 | 1;

/**
 * Validate the 7 header integers (vocab already made positive) and return the dims.
 * Throws ModelFormatError naming `file` and the offending field.
 */
export function validateHeader(ints: readonly number[], sharedClassifier: boolean, file: string): LlamaDims {
  const named: Record<string, number> = {};
  HEADER_FIELDS.forEach((f, i) => {
    const v = ints[i]!;
    if (v <= 0) {
      throw new ModelFormatError(
        file,
        `invalid llama2.c header: ${f} = ${v} (every dimension must be positive; header ${describe(ints)})`,
      );
    }
    if (v > LIMITS[f]) {
      throw new ModelFormatError(
        file,
        `invalid llama2.c header: ${f} = ${formatCount(v)} exceeds the supported maximum ${formatCount(LIMITS[f])}; is this a llama2.c checkpoint? (header ${describe(ints)})`,
      );
    }
    named[f] = v;
  });
  const d: LlamaDims = {
    dim: named.dim!,
    hiddenDim: named.hidden_dim!,
    nLayers: named.n_layers!,
    nHeads: named.n_heads!,
    nKvHeads: named.n_kv_heads!,
    vocabSize: named.vocab_size!,
    seqLen: named.seq_len!,
    sharedClassifier,
  };
  if (d.dim % d.nHeads !== 0) {
    throw new ModelFormatError(
      file,
      `invalid llama2.c header: dim ${d.dim} is not divisible by n_heads ${d.nHeads}`,
    );
  }
  if (d.nHeads % d.nKvHeads !== 0) {
    throw new ModelFormatError(
      file,
      `invalid llama2.c header: n_heads ${d.nHeads} is not divisible by n_kv_heads ${d.nKvHeads}`,
    );
  }
  // Rotary embedding rotates adjacent pairs inside each head.
  if ((d.dim / d.nHeads) % 2 !== 0) {
    throw new ModelFormatError(
      file,
      `invalid llama2.c header: head size ${d.dim / d.nHeads} (dim / n_heads) is odd`,
    );
  }
  return d;
}

function describe(ints: readonly number[]): string {
  return HEADER_FIELDS.map((f, i) => `${f}=${ints[i]}`).join(', ');
}

/** Where a section of floats goes: a per-layer field, a global weight, or skipped (rotary tables). */
export type SectionKey =
  LlamaLayerMatrixKey | 'tokEmbeddings' | 'norm' | 'output' | 'freqCisReal' | 'freqCisImag';

export interface Section {
  key: SectionKey;
  /** When true the section holds nLayers consecutive tensors of `count` floats each. */
  perLayer: boolean;
  /** Floats per tensor. */
  count: number;
}

/** The weight sections after the header, in file order. */
export function sections(c: LlamaConfig, version: Llama2cVersion): Section[] {
  const { dim, hiddenDim, kvDim, vocabSize, seqLen, headDim } = c;
  const layer = (key: LlamaLayerMatrixKey, count: number): Section => ({ key, perLayer: true, count });
  const global = (key: SectionKey, count: number): Section => ({ key, perLayer: false, count });
  const matrices = [
    layer('wq', dim * dim),
    layer('wk', kvDim * dim),
    layer('wv', kvDim * dim),
    layer('wo', dim * dim),
  ];
  const ffn = [layer('w1', hiddenDim * dim), layer('w2', dim * hiddenDim), layer('w3', hiddenDim * dim)];
  const output = c.sharedClassifier ? [] : [global('output', vocabSize * dim)];
  if (version === 1) {
    return [
      layer('attentionNorm', dim),
      layer('ffnNorm', dim),
      global('norm', dim),
      global('tokEmbeddings', vocabSize * dim),
      ...matrices,
      ...ffn,
      ...output,
    ];
  }
  return [
    global('tokEmbeddings', vocabSize * dim),
    layer('attentionNorm', dim),
    ...matrices,
    layer('ffnNorm', dim),
    ...ffn,
    global('norm', dim),
    global('freqCisReal', (seqLen * headDim) / 2),
    global('freqCisImag', (seqLen * headDim) / 2),
    ...output,
  ];
}

/** Total floats after the header. */
export function floatCount(c: LlamaConfig, version: Llama2cVersion): number {
  return sections(c, version).reduce((n, s) => n + s.count * (s.perLayer ? c.nLayers : 1), 0);
}
