/**
 * Attention probes over a corpus (issue 5, METHODS.md "Attention sparsity"): per layer and head,
 * entropy, top-k mass coverage and the k for 90/95/99 % of the mass, sink mass, mean distance and
 * locality profile, vertical and slash structure — aggregated over every query row of every
 * window of the text, plus per-query-position means. Each layer's pattern is probed inside the
 * attention pass (`ForwardOptions.attentionProbe`: `backend.patternProbe` on the model's own
 * backend, WebGPU kernel or CPU reference, fused where the backend can); only the per-row metrics
 * and line sums are read back.
 */
import type { Table } from 'apache-arrow';
import { checkCompatible } from '../../runtime/compatibility';
import type { LlamaModel } from '../../runtime/model/llama';
import { buildTokenStream, decodeUtf8Strict } from '../../runtime/text';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { forEachProbe, type CollectPatternsOptions } from './collect-patterns';
import { ProbeAccumulator, type HeadProbe, type ProbeShape } from './probe-accumulator';
import { DEFAULT_KS } from './probe-metrics';
import { headProbeTable, positionProbeTable } from './probe-tables';

/** Heads whose mean sink mass exceeds this are "sink-dominated". */
export const SINK_HEAD_MIN_MASS = 0.5;
/** Heads whose mean attention distance is below this (tokens) are "local". */
export const LOCAL_HEAD_MAX_DISTANCE = 2;
/** Default c of the vertical / slash scores: the top 8 columns / diagonals. */
export const DEFAULT_LINES = 8;

export interface ProbeOptions extends CollectPatternsOptions {
  /** Leading tokens of each window counted as the attention sink (default 1: BOS / first token). */
  nSink?: number;
  /** Top-k coverage sizes (default 1, 2, 4, … 64); sorted and deduplicated. */
  ks?: readonly number[];
  /** Columns / diagonals c of the vertical and slash scores (default 8). */
  lines?: number;
  /** Name of the text for error messages (default "text"). */
  fileName?: string;
}

export interface ProbeSummary {
  windows: number;
  /** Query rows per head (input tokens run). */
  tokens: number;
  nLayers: number;
  nHeads: number;
  nSink: number;
  ks: number[];
  lines: number;
  heads: HeadProbe[];
  /** Heads with sink mass > `SINK_HEAD_MIN_MASS`, highest first. */
  sinkHeads: HeadProbe[];
  /** Heads with mean distance < `LOCAL_HEAD_MAX_DISTANCE`, closest first. */
  localHeads: HeadProbe[];
}

export interface ProbeResult {
  /** One row per (layer, head) (`HEAD_PROBE_COLUMNS`). */
  heads: Table;
  /** One row per (layer, head, position) (`POSITION_PROBE_COLUMNS`). */
  positions: Table;
  summary: ProbeSummary;
}

/**
 * Probe every head of `model` over `text` (a string or a file's bytes, decoded strictly), cut into
 * the loss evaluation's windows.
 *
 * @example
 * const r = await probeAttention(model, tok, text, { maxWindows: 8 });
 * r.summary.sinkHeads.map((h) => `L${h.layer}H${h.head}`);
 * @throws TextError / CompatibilityError for bad input, Error for bad options, the signal's reason when aborted.
 */
export async function probeAttention(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string | Uint8Array,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const fileName = options.fileName ?? 'text';
  checkCompatible(model.config, tokenizer, { model: model.name, tokenizer: tokenizer.fileName });
  const str = typeof text === 'string' ? text : decodeUtf8Strict(text, fileName);
  return probeTokens(model, buildTokenStream(tokenizer, str, fileName).tokens, options);
}

/** `probeAttention` on an already built token stream (BOS-separated documents). */
export async function probeTokens(
  model: LlamaModel,
  tokens: Int32Array,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const { config } = model;
  const shape: ProbeShape = { nLayers: config.nLayers, nHeads: config.nHeads, seqLen: config.seqLen };
  const ks = [...new Set(options.ks ?? DEFAULT_KS)].sort((a, b) => a - b);
  const acc = new ProbeAccumulator(shape, {
    ks,
    nSink: options.nSink ?? 1,
    lines: options.lines ?? DEFAULT_LINES,
  });
  const windows = await forEachProbe(model, tokens, options, acc.spec, (p) => acc.addProbe(p));
  if (windows.length === 0) throw new Error('the text has fewer than 2 tokens: no window to probe');
  return probeResult(acc, windows.length);
}

/** Tables and summary of an accumulator fed `windows` windows. */
export function probeResult(acc: ProbeAccumulator, windows: number): ProbeResult {
  const { shape, settings, spec } = acc;
  const heads = acc.heads();
  const summary: ProbeSummary = {
    windows,
    tokens: heads[0]?.rows ?? 0,
    nLayers: shape.nLayers,
    nHeads: shape.nHeads,
    nSink: settings.nSink,
    ks: [...settings.ks],
    lines: settings.lines,
    heads,
    ...classifyHeads(heads),
  };
  return {
    heads: headProbeTable(heads, settings.ks, spec.nBuckets),
    positions: positionProbeTable(acc.positions(), shape),
    summary,
  };
}

/**
 * Sink-dominated heads (sink mass > 0.5: more than half of each query's attention, on average,
 * goes to the window's first token(s)) and local heads (mean distance < 2 tokens: attention mostly
 * on the current and previous token).
 */
export function classifyHeads(heads: readonly HeadProbe[]): {
  sinkHeads: HeadProbe[];
  localHeads: HeadProbe[];
} {
  return {
    sinkHeads: heads.filter((h) => h.sinkMass > SINK_HEAD_MIN_MASS).sort((a, b) => b.sinkMass - a.sinkMass),
    localHeads: heads
      .filter((h) => h.meanDistance < LOCAL_HEAD_MAX_DISTANCE)
      .sort((a, b) => a.meanDistance - b.meanDistance),
  };
}

export * from './collect-patterns';
export * from './probe-accumulator';
export * from './probe-metrics';
export * from './probe-tables';
