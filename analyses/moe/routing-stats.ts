/**
 * The math of MoE routing statistics, on counts gathered from a model (see `collect-routing.ts`):
 * expert load, router entropy and domain specialisation (METHODS.md, "Specialisation").
 *
 * Pure functions over plain arrays so they can be checked on hand-computed cases. Logarithms are
 * natural (nats) throughout.
 */

/** Routing counts of one MoE layer, split by the domain each token came from. */
export interface LayerRoutingCounts {
  /** [D × E] row-major: token→expert assignments of domain d's tokens to expert e. */
  assignments: Float64Array;
  /** [D] tokens routed. */
  tokens: Float64Array;
  /** [D] Σ over tokens of the entropy of the router's softmax probabilities. */
  entropySum: Float64Array;
}

/** Routing counts of every MoE layer of a model over a labelled corpus. */
export interface RoutingCounts {
  domains: readonly string[];
  nExperts: number;
  topK: number;
  layers: LayerRoutingCounts[];
}

/** Statistics of one layer (see `summarizeRouting`). */
export interface MoeLayerStats {
  layer: number;
  /** Share of all token→expert assignments that went to each expert [E]; sums to 1. */
  load: number[];
  /** Mean over tokens of the entropy of the router's softmax probabilities (nats). */
  routerEntropy: number;
  /** Entropy of `load` (nats); log(E) when perfectly balanced. */
  loadEntropy: number;
  /** Mean over used experts of KL(expert's domain distribution ‖ corpus's) (nats). */
  specialisation: number;
  /** KL(expert ‖ corpus) per expert [E]; null for an expert no token was routed to. */
  expertKl: (number | null)[];
  /** Per domain: share of its assignments going to each expert [E] (sums to 1). */
  usage: Record<string, number[]>;
}

/** Everything `summarizeRouting` returns; JSON-serialisable. */
export interface MoeStatsSummary {
  nLayers: number;
  nExperts: number;
  topK: number;
  /** Domains in input order with their token counts. */
  domains: { name: string; tokens: number }[];
  /** log(E): the router and load entropy of a uniform distribution, for scale. */
  maxEntropy: number;
  /** Mean of the layers' specialisation scores. */
  specialisation: number;
  layers: MoeLayerStats[];
}

/**
 * Zeroed counts for a model with `nLayers` MoE layers.
 *
 * @example
 * const counts = emptyRoutingCounts(['code', 'email'], 4, 8, 2);
 */
export function emptyRoutingCounts(
  domains: readonly string[],
  nLayers: number,
  nExperts: number,
  topK: number,
): RoutingCounts {
  const D = domains.length;
  return {
    domains,
    nExperts,
    topK,
    layers: Array.from({ length: nLayers }, () => ({
      assignments: new Float64Array(D * nExperts),
      tokens: new Float64Array(D),
      entropySum: new Float64Array(D),
    })),
  };
}

/**
 * Add n tokens of domain `d` to layer counts: `probs` [n × E] router probabilities (for the
 * entropy), `selected` [n × k] chosen expert indices (−1 = no expert in that slot, skipped).
 *
 * @example
 * addRouting(counts.layers[0]!, 2, 0, Float32Array.of(0.3, 0.7), Int32Array.of(1)); // one token → expert 1
 */
export function addRouting(
  layer: LayerRoutingCounts,
  nExperts: number,
  d: number,
  probs: Float32Array,
  selected: Int32Array,
): void {
  const n = probs.length / nExperts;
  if (!Number.isInteger(n) || n === 0 || selected.length % n !== 0) {
    throw new Error(
      `addRouting: ${probs.length} probabilities and ${selected.length} selections do not fit ${nExperts} experts`,
    );
  }
  const k = selected.length / n;
  for (let t = 0; t < n; t++) {
    layer.entropySum[d]! += entropy(probs.subarray(t * nExperts, (t + 1) * nExperts));
    for (let j = 0; j < k; j++) {
      const e = selected[t * k + j]!;
      if (e < 0) continue;
      if (e >= nExperts) throw new Error(`addRouting: expert index ${e} outside [0, ${nExperts})`);
      layer.assignments[d * nExperts + e]! += 1;
    }
  }
  layer.tokens[d]! += n;
}

/**
 * Entropy (nats) of a distribution given by non-negative weights (normalised here; zeros, such as
 * a disabled expert's probability, add nothing).
 *
 * @example
 * entropy([1, 1, 1, 1]); // log 4
 */
export function entropy(weights: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  if (total <= 0) return 0;
  let h = 0;
  for (let i = 0; i < weights.length; i++) {
    const p = weights[i]! / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}

/**
 * KL(p ‖ q) (nats) for weights p and q over the same support (each normalised here). Terms with
 * p = 0 add nothing; p > 0 where q = 0 gives Infinity.
 *
 * @example
 * klDivergence([1, 0], [1, 1]); // log 2
 */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i]!;
    sq += q[i]!;
  }
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    if (pi > 0) kl += pi * Math.log(pi / (q[i]! / sq));
  }
  return kl;
}

/**
 * Per-layer load, entropies and specialisation, and the domain × expert usage.
 *
 * Specialisation of a layer: each used expert's tokens form a distribution over domains; the
 * score is the mean over those experts of its KL divergence from the corpus's distribution over
 * domains (both counted in token→expert assignments). 0 when every expert sees the corpus mix;
 * log(D) when each expert sees one domain only and the corpus has D domains in equal shares.
 *
 * @example
 * const s = summarizeRouting(counts);
 * s.layers[0]!.specialisation; // nats
 */
export function summarizeRouting(counts: RoutingCounts): MoeStatsSummary {
  const { domains, nExperts: E } = counts;
  const D = domains.length;
  const layers = counts.layers.map((c, layer): MoeLayerStats => {
    const perExpert = Array.from({ length: E }, (_, e) => column(c.assignments, D, E, e));
    const perDomain = domains.map((_, d) => Array.from(c.assignments.subarray(d * E, (d + 1) * E)));
    const expertTotals = perExpert.map(sum);
    const all = sum(expertTotals);
    const corpus = perDomain.map(sum);
    const expertKl = perExpert.map((p, e) => (expertTotals[e]! > 0 ? klDivergence(p, corpus) : null));
    const used = expertKl.filter((k): k is number => k !== null);
    const tokens = sum(Array.from(c.tokens));
    return {
      layer,
      load: expertTotals.map((n) => (all > 0 ? n / all : 0)),
      routerEntropy: tokens > 0 ? sum(Array.from(c.entropySum)) / tokens : 0,
      loadEntropy: entropy(expertTotals),
      specialisation: used.length > 0 ? sum(used) / used.length : 0,
      expertKl,
      usage: Object.fromEntries(
        domains.map((name, d) => [name, perDomain[d]!.map((n) => (corpus[d]! > 0 ? n / corpus[d]! : 0))]),
      ),
    };
  });
  return {
    nLayers: layers.length,
    nExperts: E,
    topK: counts.topK,
    domains: domains.map((name, d) => ({ name, tokens: counts.layers[0]?.tokens[d] ?? 0 })),
    maxEntropy: Math.log(E),
    specialisation: layers.length > 0 ? sum(layers.map((l) => l.specialisation)) / layers.length : 0,
    layers,
  };
}

function column(m: Float64Array, rows: number, cols: number, c: number): number[] {
  return Array.from({ length: rows }, (_, r) => m[r * cols + c]!);
}

function sum(a: readonly number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}
