/**
 * Chunk-level sparsity (BlockFFN; METHODS.md) of a dense model's FFN neurons: a neuron is active
 * for a token when |mlp.hook_post| (the input of the down projection) exceeds a threshold; TLS is
 * the share of inactive neurons per token and CLS(L) the share of neurons no token of an L-token
 * chunk uses — the view of how much a chunk-wise sparse kernel could skip, beside the same curves
 * for MoE experts (`expertChunkSparsity`).
 */
import type { LlamaModel } from '../../runtime/model/llama';
import type { Hooks } from '../../runtime/hooks';
import { createYielder } from '../../runtime/scheduling';
import { chunkSparsity, type ChunkSparsityPoint } from './routing-analyses';

export const MLP_POST_HOOK = (layer: number) => `blocks.${layer}.mlp.hook_post`;

export interface NeuronChunkSparsity {
  threshold: number;
  hiddenDim: number;
  tokens: number;
  layers: { layer: number; tls: number; curve: ChunkSparsityPoint[] }[];
}

/**
 * TLS and CLS curves of every dense FFN layer over a token stream (documents given by
 * `documentStarts`; chunks never cross a document or a window boundary).
 *
 * @example
 * const r = await neuronChunkSparsity(model, tokens, [0], { threshold: 0.05, chunks: [1, 4, 16] });
 * @throws Error for an MoE model (use the routing log's expert curves) or a bad threshold.
 */
export async function neuronChunkSparsity(
  model: LlamaModel,
  tokens: Int32Array,
  documentStarts: readonly number[],
  options: {
    threshold: number;
    chunks: readonly number[];
    maxTokens?: number;
    signal?: AbortSignal;
    onProgress?: (p: { done: number; total: number }) => void;
  },
): Promise<NeuronChunkSparsity> {
  const { config } = model;
  if (config.moe) {
    throw new Error(
      `${model.name} is a mixture-of-experts model: its chunk sparsity is over experts (moe-stats), not FFN neurons`,
    );
  }
  if (!(options.threshold >= 0 && Number.isFinite(options.threshold))) {
    throw new RangeError(`the activation threshold must be a non-negative number, got ${options.threshold}`);
  }
  const H = config.hiddenDim;
  const L = config.nLayers;
  const S = config.seqLen;
  const n = Math.min(tokens.length, options.maxTokens ?? Infinity);
  // Active neurons of every token per layer, as index lists (most are short when the FFN is sparse).
  const active: Int32Array[][] = Array.from({ length: L }, () => []);
  const ranges: { from: number; to: number }[] = [];
  const starts = [...documentStarts.filter((s) => s > 0 && s < n), n];
  const windows = Math.ceil(n / S);
  const maybeYield = createYielder();
  options.onProgress?.({ done: 0, total: windows });
  for (let w = 0; w < windows; w++) {
    options.signal?.throwIfAborted();
    const from = w * S;
    const to = Math.min(n, from + S);
    const hooks: Record<string, Hooks[string]> = {};
    for (let l = 0; l < L; l++) {
      hooks[MLP_POST_HOOK(l)] = async (t) => {
        const a = await model.backend.read(t);
        for (let i = 0; i < to - from; i++) {
          const row: number[] = [];
          for (let j = 0; j < H; j++) if (Math.abs(a[i * H + j]!) > options.threshold) row.push(j);
          active[l]!.push(Int32Array.from(row));
        }
      };
    }
    model.backend.dispose(await model.forward(tokens.subarray(from, to), { hooks }));
    // Chunk ranges: split the window where documents start.
    let a = from;
    for (const s of starts) {
      if (s <= a) continue;
      const b = Math.min(s, to);
      ranges.push({ from: a, to: b });
      a = b;
      if (a >= to) break;
    }
    options.onProgress?.({ done: w + 1, total: windows });
    await maybeYield();
  }
  const longest = Math.max(...ranges.map((r) => r.to - r.from));
  const chunks = options.chunks.filter((c) => c <= longest);
  return {
    threshold: options.threshold,
    hiddenDim: H,
    tokens: n,
    layers: active.map((rows, layer) => ({ layer, ...chunkSparsity(H, (t) => rows[t]!, ranges, chunks) })),
  };
}
