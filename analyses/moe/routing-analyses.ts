/**
 * OLMoE-style analyses of a routing log (METHODS.md "OLMoE-style analyses"; OLMoE's
 * `scripts/run_moe_analysis.py`): co-activation, router saturation, vocabulary specialisation and
 * cross-layer routing consistency. Pure functions of the log, checked on hand-computed cases.
 */
import { documentRanges, routerProbs, tokenCount, type RoutingLog } from './routing-log';

/**
 * Co-activation at a layer, [E × E] row-major: entry (i, j) is the share of the tokens routed to
 * expert i that also chose expert j (OLMoE's definition; the diagonal is 1 for used experts, and a
 * row of an unused expert is all 0).
 *
 * @example
 * coactivation(log, 0)[i * E + j]; // P(j chosen | i chosen)
 */
export function coactivation(log: RoutingLog, layer: number): Float64Array {
  const { nExperts: E, topK: k } = log;
  const experts = log.layers[layer]!.experts;
  const pairs = new Float64Array(E * E);
  const T = tokenCount(log);
  for (let t = 0; t < T; t++) {
    for (let a = 0; a < k; a++) {
      const i = experts[t * k + a]!;
      if (i < 0) continue;
      for (let b = 0; b < k; b++) {
        const j = experts[t * k + b]!;
        if (j >= 0) pairs[i * E + j]! += 1;
      }
    }
  }
  for (let i = 0; i < E; i++) {
    const n = pairs[i * E + i]!;
    for (let j = 0; j < E; j++) pairs[i * E + j] = n > 0 ? pairs[i * E + j]! / n : 0;
  }
  return pairs;
}

/**
 * Mean over tokens of the router probability mass of the chosen experts at a layer (1 when the
 * router is saturated on its top-k; k/E for a uniform router). Needs router logits.
 *
 * @example
 * topKMass(log, 0); // e.g. 0.62
 */
export function topKMass(log: RoutingLog, layer: number): number {
  const { nExperts: E, topK: k } = log;
  const experts = log.layers[layer]!.experts;
  const p = new Float64Array(E);
  const T = tokenCount(log);
  let sum = 0;
  for (let t = 0; t < T; t++) {
    routerProbs(log, layer, t, p);
    for (let a = 0; a < k; a++) {
      const e = experts[t * k + a]!;
      if (e >= 0) sum += p[e]!;
    }
  }
  return sum / T;
}

/**
 * Router saturation against a reference (OLMoE: a checkpoint's choices against the final one's,
 * here any two logs of the same tokens, e.g. a model with and without an intervention): the mean
 * over tokens of |top-k ∩ reference top-k| / k at a layer.
 *
 * @throws Error when the logs do not route the same tokens with the same k.
 */
export function routingOverlap(log: RoutingLog, reference: RoutingLog, layer: number): number {
  const T = tokenCount(log);
  const k = log.topK;
  if (tokenCount(reference) !== T || reference.topK !== k) {
    throw new Error(
      `router saturation compares two logs of the same tokens: ${log.source} has ${T} tokens × top-${k}, ${reference.source} ${tokenCount(reference)} × top-${reference.topK}`,
    );
  }
  for (let t = 0; t < T; t++) {
    if (log.tokenId[t] !== reference.tokenId[t]) {
      throw new Error(
        `router saturation: token ${t} is ${log.tokenId[t]} in ${log.source} but ${reference.tokenId[t]} in ${reference.source}`,
      );
    }
  }
  const a = log.layers[layer]!.experts;
  const b = reference.layers[layer]!.experts;
  let shared = 0;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < k; i++) {
      const e = a[t * k + i]!;
      if (e < 0) continue;
      for (let j = 0; j < k; j++) if (b[t * k + j] === e) shared++;
    }
  }
  return shared / (T * k);
}

/** One expert's most specialised token ids. */
export interface ExpertVocabulary {
  expert: number;
  /** Token ids with the largest share of their occurrences routed to this expert, best first. */
  tokens: { tokenId: number; share: number; count: number }[];
}

export interface VocabularySpecialisation {
  /**
   * Occurrence-weighted mean over token ids (seen at least `minCount` times) of the largest share
   * of a token id's occurrences that one expert takes (first choice): 1 when every token id
   * always goes to the same expert.
   */
  score: number;
  /** The score of a router that ignores the token: 1/E. */
  uniform: number;
  experts: ExpertVocabulary[];
}

/**
 * Vocabulary specialisation at a layer (OLMoE: per expert, the share of a token id's occurrences
 * routed to it), by first-choice expert.
 *
 * @example
 * vocabularySpecialisation(log, 0, { top: 5, minCount: 4 }).experts[3]!.tokens[0]; // { tokenId, share, count }
 */
export function vocabularySpecialisation(
  log: RoutingLog,
  layer: number,
  options: { top?: number; minCount?: number } = {},
): VocabularySpecialisation {
  const { nExperts: E, topK: k } = log;
  const top = options.top ?? 10;
  const minCount = options.minCount ?? 2;
  const experts = log.layers[layer]!.experts;
  const perToken = new Map<number, Float64Array>();
  const T = tokenCount(log);
  for (let t = 0; t < T; t++) {
    const e = experts[t * k]!;
    if (e < 0) continue;
    const id = log.tokenId[t]!;
    let row = perToken.get(id);
    if (!row) perToken.set(id, (row = new Float64Array(E + 1)));
    row[e]! += 1;
    row[E]! += 1;
  }
  let weighted = 0;
  let occurrences = 0;
  const candidates: { tokenId: number; share: number; count: number }[][] = Array.from(
    { length: E },
    () => [],
  );
  for (const [tokenId, row] of perToken) {
    const count = row[E]!;
    if (count < minCount) continue;
    let best = 0;
    for (let e = 0; e < E; e++) {
      best = Math.max(best, row[e]!);
      if (row[e]! > 0) candidates[e]!.push({ tokenId, share: row[e]! / count, count: row[e]! });
    }
    weighted += best;
    occurrences += count;
  }
  return {
    score: occurrences > 0 ? weighted / occurrences : 0,
    uniform: 1 / E,
    experts: candidates.map((c, expert) => ({
      expert,
      tokens: c.sort((a, b) => b.share - a.share || b.count - a.count || a.tokenId - b.tokenId).slice(0, top),
    })),
  };
}

export interface CrossLayerConsistency {
  /** Layer l (compared with l + 1). */
  layer: number;
  /**
   * Share of tokens whose first-choice expert at l + 1 is the one most often following their
   * first-choice expert at l (accuracy of the best mapping from l's expert to l + 1's).
   */
  predictability: number;
  /** The same share when predicting the most common expert at l + 1 regardless of l. */
  baseline: number;
  /** Mutual information of the two first choices divided by the entropy at l + 1 (0..1). */
  normalisedMutualInformation: number;
}

/**
 * Cross-layer routing consistency of first-choice experts between consecutive layers.
 *
 * @example
 * crossLayerConsistency(log)[0]!.predictability; // 1 when layer 1's expert is a function of layer 0's
 */
export function crossLayerConsistency(log: RoutingLog): CrossLayerConsistency[] {
  const { nExperts: E, topK: k } = log;
  const T = tokenCount(log);
  const out: CrossLayerConsistency[] = [];
  for (let l = 0; l + 1 < log.layers.length; l++) {
    const a = log.layers[l]!.experts;
    const b = log.layers[l + 1]!.experts;
    const joint = new Float64Array(E * E);
    let n = 0;
    for (let t = 0; t < T; t++) {
      const i = a[t * k]!;
      const j = b[t * k]!;
      if (i < 0 || j < 0) continue;
      joint[i * E + j]! += 1;
      n++;
    }
    const rows = new Float64Array(E);
    const cols = new Float64Array(E);
    let bestSum = 0;
    for (let i = 0; i < E; i++) {
      let best = 0;
      for (let j = 0; j < E; j++) {
        const c = joint[i * E + j]!;
        rows[i]! += c;
        cols[j]! += c;
        best = Math.max(best, c);
      }
      bestSum += best;
    }
    let mi = 0;
    let h = 0;
    for (let j = 0; j < E; j++) if (cols[j]! > 0) h -= (cols[j]! / n) * Math.log(cols[j]! / n);
    for (let i = 0; i < E; i++) {
      for (let j = 0; j < E; j++) {
        const c = joint[i * E + j]!;
        if (c > 0) mi += (c / n) * Math.log((c * n) / (rows[i]! * cols[j]!));
      }
    }
    out.push({
      layer: l,
      predictability: n > 0 ? bestSum / n : 0,
      baseline: n > 0 ? Math.max(...cols) / n : 0,
      normalisedMutualInformation: h > 0 ? Math.max(0, mi) / h : 1,
    });
  }
  return out;
}

export interface ChunkSparsityPoint {
  /** Chunk length L in tokens. */
  chunk: number;
  /** CLS = 1 − mean over chunks of |∪ units used in the chunk| / N. */
  cls: number;
  /** Full chunks counted (chunks never cross a document boundary; a shorter tail is dropped). */
  chunks: number;
}

/**
 * Chunk-level sparsity (BlockFFN) of per-token active sets over N units (experts or neurons):
 * TLS = 1 − mean |active| / N, and CLS for each chunk length.
 *
 * @param active for token t, the active unit indices (`activeOf(t)`); tokens [0, T)
 * @param documents [from, to) token ranges; chunks stay inside one range
 * @example
 * chunkSparsity(8, T, (t) => experts.subarray(t * 2, t * 2 + 2), [{ from: 0, to: T }], [1, 2, 4, 8]);
 */
export function chunkSparsity(
  nUnits: number,
  activeOf: (t: number) => ArrayLike<number>,
  documents: readonly { from: number; to: number }[],
  chunkLengths: readonly number[],
): { tls: number; curve: ChunkSparsityPoint[] } {
  let activeSum = 0;
  let tokens = 0;
  for (const { from, to } of documents) {
    for (let t = from; t < to; t++) {
      activeSum += countValid(activeOf(t));
      tokens++;
    }
  }
  const seen = new Uint32Array(nUnits);
  let stamp = 0;
  const curve = chunkLengths.map((L): ChunkSparsityPoint => {
    if (!(Number.isInteger(L) && L >= 1))
      throw new RangeError(`chunk length must be a positive integer, got ${L}`);
    let sum = 0;
    let chunks = 0;
    for (const { from, to } of documents) {
      for (let c = from; c + L <= to; c += L) {
        stamp++;
        let used = 0;
        for (let t = c; t < c + L; t++) {
          const a = activeOf(t);
          for (let i = 0; i < a.length; i++) {
            const u = a[i]!;
            if (u >= 0 && seen[u] !== stamp) {
              seen[u] = stamp;
              used++;
            }
          }
        }
        sum += used / nUnits;
        chunks++;
      }
    }
    return { chunk: L, cls: chunks > 0 ? 1 - sum / chunks : Number.NaN, chunks };
  });
  const empty = curve.find((p) => p.chunks === 0);
  if (empty) throw new RangeError(`no document has ${empty.chunk} tokens, so no chunk of that length exists`);
  return { tls: 1 - activeSum / tokens / nUnits, curve };
}

/** Chunk-level sparsity of the experts at one layer of a routing log. */
export function expertChunkSparsity(
  log: RoutingLog,
  layer: number,
  chunkLengths: readonly number[],
): { tls: number; curve: ChunkSparsityPoint[] } {
  const k = log.topK;
  const experts = log.layers[layer]!.experts;
  return chunkSparsity(
    log.nExperts,
    (t) => experts.subarray(t * k, t * k + k),
    documentRanges(log),
    chunkLengths,
  );
}

function countValid(a: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! >= 0) n++;
  return n;
}
