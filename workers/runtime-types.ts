/**
 * Plain data crossing the runtime worker boundary (structured-clone safe: no classes, no tensors).
 * Tables cross separately, as Arrow IPC bytes (see runtime/tables.ts).
 */
import type { BackendKind } from '../kernels/tensor';
import type { ModelInfo } from '../runtime/index';
import type { MoeStatsSummary } from '../analyses/moe/routing-stats';

export type { BackendKind };

/** Which backend the worker runs on, and what it is (for webgpu: the adapter). */
export interface BackendInfo {
  kind: BackendKind;
  description: string;
}

/** One file of a model as raw bytes. */
export interface ModelFile {
  /** File name, used to detect the format and in error messages (`broken.bin: …`). */
  name: string;
  bytes: ArrayBuffer;
}

/**
 * A model and its tokenizer as raw files: a llama2.c checkpoint + tokenizer (`*.bin`, the
 * tokenizer's name containing "tok"), or an HF folder (`config.json`, `model.safetensors`,
 * `tokenizer.bin`).
 */
export interface LoadRequest {
  /** Name the worker keeps the model under (several can be loaded at once). Default `default`. */
  key?: string;
  files: ModelFile[];
}

/** Key of the model used when a call names none. */
export const DEFAULT_MODEL_KEY = 'default';

/** The shape of a loaded model (the runtime's ModelInfo). */
export type ModelShape = ModelInfo;

/**
 * What `load` answers: the page's handle on a model kept in the worker (the worker's own loaded
 * model — weights on the backend, tokenizer — never leaves it).
 */
export interface ModelHandle {
  shape: ModelShape;
  backend: BackendInfo;
  /** The key the worker keeps it under. */
  key: string;
  modelName: string;
  tokenizerName: string;
  /** Milliseconds spent parsing and uploading. */
  loadMs: number;
}

/** Progress of a long job: `done` of `total` units (windows, tokens). */
export interface JobProgress {
  done: number;
  total: number;
}

/** Mean loss over a text (ARCHITECTURE.md "Loss over a text"). */
export interface LossSummary {
  /** Mean cross-entropy over all targets, in nats. */
  loss: number;
  perplexity: number;
  /** Number of predicted tokens. */
  targets: number;
  /** Number of documents after the `<|endoftext|>` split. */
  documents: number;
  ms: number;
}

/** A job over one text (BOS + text). */
export interface TextRequest {
  text: string;
}

/** `nextToken`: the top-k distribution after BOS + `text`. */
export interface NextTokenRequest extends TextRequest {
  /** Rows of the table, in [1, min(1000, vocab)]; default 10. */
  topK?: number;
}

/** `forward`: BOS + `text`, reading the activations at the hook points in `capture`. */
export interface ForwardRequest extends TextRequest {
  capture?: readonly string[];
}

/** `loss`: mean loss over a text; `fileName` names it in errors. */
export interface LossRequest extends TextRequest {
  fileName?: string;
}

/** Options of `generate`. */
export interface GenerateRequest {
  prompt: string;
  /** Number of new tokens to generate (at most: generation stops early when the model emits BOS or the context is full). */
  steps: number;
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Seed of the sampler (deterministic for a given seed). */
  seed: number;
}

/** One generated token, streamed as `generate`'s progress. */
export interface GeneratedToken {
  /** 0 for the first generated token. */
  index: number;
  tokenId: number;
  /** The token's text in context (untrusted). */
  text: string;
}

/** What `generate` resolves with. */
export interface GenerateSummary {
  /** Prompt + continuation. */
  text: string;
  /** Number of generated tokens. */
  tokens: number;
  ms: number;
  /** Why it stopped: all steps done, the model emitted BOS (end of story), or the context is full. */
  stop: 'steps' | 'bos' | 'context';
}

/** Scalars of an `inspect` result (its tables travel as Arrow IPC bytes beside them). */
export interface InspectSummary {
  /** Token index whose next-token distribution was computed (−1 resolved to the last). */
  position: number;
  /** True when the text was cut to the model's context. */
  truncated: boolean;
  /** Tokens of the whole text (BOS included) before the cut. */
  totalTokens: number;
}

/** A head named in a probe summary. */
export interface ProbeHeadBrief {
  layer: number;
  head: number;
  /** Mean attention mass on the window's first token(s). */
  sinkMass: number;
  /** Mean attention distance, tokens. */
  meanDistance: number;
}

/** Scalars of an `attentionProbes` result (its heads / positions tables travel as IPC bytes). */
export interface ProbeJobSummary {
  windows: number;
  /** Query rows per head. */
  tokens: number;
  nLayers: number;
  nHeads: number;
  /** Leading tokens counted as the sink. */
  nSink: number;
  /** Heads with sink mass > 0.5, highest first. */
  sinkHeads: ProbeHeadBrief[];
  /** Heads with mean distance < 2 tokens, closest first. */
  localHeads: ProbeHeadBrief[];
}

/** Scalars of an `attentionMask` result (pattern, mask, heads and tokens tables travel as IPC bytes). */
export interface MaskJobSummary {
  family: string;
  budget: number;
  layer: number;
  head: number;
  /** Tokens of the window (BOS included). */
  T: number;
  /** True when the document was cut to the model's context. */
  truncated: boolean;
  /** Tokens of the whole document (BOS included) before the cut. */
  totalTokens: number;
  /** Over every head of the layer: kept causal entries ÷ all causal entries. */
  density: number;
  /** Over every head of the layer: mean share of each query's attention mass kept. */
  recall: number;
  headDensity: number;
  headRecall: number;
  /** Where the `channel` family was calibrated; 'none' for the other families. */
  calibration: 'none' | 'other documents' | 'first half of the document';
}

/** Scalars of an `attentionSweep` result (its curves and per-head tables travel as IPC bytes). */
export interface SweepJobSummary {
  /** Loss of the unmasked model on the same scored text, nats. */
  denseLoss: number;
  windows: number;
  tokens: number;
  /** Where the channel family was calibrated, or null when it was not swept. */
  calibration: string | null;
}

/** The cliff of one (method, pattern) curve of a pruning sweep (analyses/pruning/cliff.ts). */
export interface PruningCliffSummary {
  method: string;
  pattern: string;
  /** Highest sparsity whose loss stays within tolerance of the dense loss (0 if none). */
  essentialSparsity: number;
  /** First sparsity outside the tolerance band, or null when the whole curve stays inside. */
  cliffSparsity: number | null;
  /** Index in the sorted curve of the essential point (−1 if only dense qualifies). */
  index: number;
  steepest: { from: number; to: number; slope: number } | null;
}

/** Scalars of a `pruningSweep` result (its points and layers tables travel as IPC bytes). */
export interface PruningSweepSummary {
  /** Names the sweep the worker keeps for the cell; mask and export requests quote it. */
  sweepId: string;
  dense: { loss: number; perplexity: number; tokens: number };
  /** Where the calibration windows came from (`source`), how many and their tokens. */
  calibration: { source: string; windows: number; tokens: number };
  cliffs: PruningCliffSummary[];
  /** Pruned points (rows 1… of the points table). */
  variants: number;
  nLayers: number;
  /**
   * The block linears the model has, the ones a point's matrix view offers (no w3 for GPT-2 or
   * NeoX, wq/wk/wv/wo for an MoE); absent in results saved before it (then all seven).
   */
  matrices?: string[];
  /** Whether the points can be exported (dense Llama-architecture models); absent = true. */
  exportable?: boolean;
}

/** Scalars of a `pruningMask` result (dense, mask and pruned tensor tables travel as IPC bytes). */
export interface PruningMaskSummary {
  method: string;
  pattern: string;
  sparsity: number;
  layer: number;
  matrix: string;
  rows: number;
  cols: number;
  /** Kept weights of this matrix. */
  nonzeros: number;
  /** False when the pattern leaves this matrix dense (e.g. channels prune only the MLP). */
  pruned: boolean;
  /** True when the kept weights were updated (SparseGPT), not just masked. */
  updated: boolean;
  /** N and M of an N:M pattern. */
  n?: number;
  m?: number;
}

/** A pruned point's files, as `pruningExport` returns them. */
export interface PruningExportFiles {
  /** Stem for the file names: `<model>-<method>-<pattern>-<sparsity %>`. */
  baseName: string;
  /** llama2.c checkpoint, or null when the model has values a llama2.c file cannot record. */
  modelBin: Uint8Array | null;
  /** Why `modelBin` is null (names the value). */
  modelBinRefused: string | null;
  /** HF folder: config.json text and model.safetensors. */
  configJson: string;
  modelSafetensors: Uint8Array;
  /** Keep masks (U8, 1 = kept) by HF weight name. */
  masksSafetensors: Uint8Array;
}

/** Progress of a pruning sweep: points done of all (dense first), and the point just finished. */
export interface PruningProgress extends JobProgress {
  label: string;
}

/**
 * Scalars of a `moeRouting` result (usage, layers and load tables travel as IPC bytes): the routing
 * summary of analyses/moe (per layer: load, router / load entropy, specialisation, expert KL,
 * domain usage), the model's name and the routing time.
 */
export type MoeRoutingSummary = MoeStatsSummary & { model: string; ms: number };

/** Most tokens per domain a `moeRouting` request may route (bounds the job's length). */
export { MAX_MOE_TOKENS } from '../analyses/moe/catalogue';
