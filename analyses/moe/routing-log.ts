/**
 * A routing log: every routing decision of an MoE model over a text, kept so that every routing
 * analysis (load, entropy, co-activation, specialisation, balancing, chunk sparsity) can run
 * without the model — on logs Sparsebook records, or on logs written by other engines on GPU
 * servers for models too big for a tab (`routing-log-parquet.ts` is the file format).
 *
 * Columnar, one entry per routed token: T tokens, each with its document, position in the
 * document, token id and domain, and per layer its k chosen experts (best first), their gate
 * weights and optionally the router logits over all E experts.
 */
import { entropy } from './routing-stats';

export interface RoutingLogLayer {
  /** [T × k] chosen expert indices, best first; −1 = no expert in that slot. */
  experts: Int32Array;
  /** [T × k] gate weight of each chosen expert. */
  gates: Float32Array;
  /** [T × E] router logits (before the softmax), when the log has them. */
  logits?: Float32Array;
}

export interface RoutingLog {
  nExperts: number;
  topK: number;
  /** Domain names; `domain[t]` indexes this list. */
  domains: string[];
  /** [T] document index of each token (tokens of one document are consecutive, in order). */
  document: Int32Array;
  /** [T] position of each token in its document (0 = its document token). */
  position: Int32Array;
  /** [T] token id. */
  tokenId: Int32Array;
  /** [T] index into `domains`. */
  domain: Int32Array;
  layers: RoutingLogLayer[];
  /** The model's layer index of each entry of `layers` (MoE layers need not be all layers). */
  layerIds: number[];
  /** Where the log came from (model id, or the files read), for headers and errors. */
  source: string;
}

/** Thrown for a routing log whose contents are inconsistent; the message names the source. */
export class RoutingLogError extends Error {
  override name = 'RoutingLogError';
}

export function tokenCount(log: RoutingLog): number {
  return log.tokenId.length;
}

/**
 * Check every invariant the analyses rely on; throws RoutingLogError naming the source, the
 * layer and the token.
 *
 * @example
 * validateRoutingLog(log); // before any analysis of a log read from a file
 */
export function validateRoutingLog(log: RoutingLog): void {
  const T = log.tokenId.length;
  const { nExperts: E, topK: k, source } = log;
  const fail = (what: string) => {
    throw new RoutingLogError(`routing log ${source}: ${what}`);
  };
  if (!(Number.isInteger(E) && E >= 1)) fail(`n_experts must be a positive integer, got ${E}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= E)) fail(`top_k must be in [1, ${E}], got ${k}`);
  if (log.layers.length === 0) fail('it has no layers');
  if (log.layerIds.length !== log.layers.length)
    fail(`${log.layerIds.length} layer ids for ${log.layers.length} layers`);
  if (T === 0) fail('it has no tokens');
  for (const [name, a] of [
    ['document', log.document],
    ['position', log.position],
    ['domain', log.domain],
  ] as const) {
    if (a.length !== T) fail(`column ${name} has ${a.length} entries for ${T} tokens`);
  }
  for (let t = 0; t < T; t++) {
    const d = log.domain[t]!;
    if (d < 0 || d >= log.domains.length) fail(`token ${t} has domain index ${d} of ${log.domains.length}`);
    const startsDocument = t === 0 || log.document[t] !== log.document[t - 1];
    if (startsDocument && log.position[t] !== 0) {
      fail(
        `document ${log.document[t]} starts at position ${log.position[t]}, not 0 (is a part of the log missing?)`,
      );
    }
    if (!startsDocument && log.position[t] !== log.position[t - 1]! + 1) {
      fail(
        `token ${t} (document ${log.document[t]}) is at position ${log.position[t]} after ${log.position[t - 1]}`,
      );
    }
  }
  log.layers.forEach((layer, l) => {
    if (layer.experts.length !== T * k || layer.gates.length !== T * k) {
      fail(
        `layer ${l} has ${layer.experts.length} expert ids and ${layer.gates.length} gates for ${T} tokens × top-${k}`,
      );
    }
    if (layer.logits && layer.logits.length !== T * E) {
      fail(`layer ${l} has ${layer.logits.length} router logits for ${T} tokens × ${E} experts`);
    }
    for (let i = 0; i < T * k; i++) {
      const e = layer.experts[i]!;
      if (e < -1 || e >= E) fail(`layer ${l}, token ${Math.floor(i / k)}: expert ${e} outside [0, ${E})`);
      if (!Number.isFinite(layer.gates[i]!)) {
        fail(`layer ${l}, token ${Math.floor(i / k)}: gate weight ${layer.gates[i]} is not finite`);
      }
    }
    if (layer.logits) {
      // −∞ is how a disabled expert's logit is recorded; NaN and +∞ are never valid.
      const bad = layer.logits.findIndex((x) => Number.isNaN(x) || x === Infinity);
      if (bad >= 0)
        fail(`layer ${l}, token ${Math.floor(bad / E)}: router logit ${layer.logits[bad]} is not valid`);
    }
  });
}

/**
 * Router probabilities of token t at a layer (softmax of its logits; −∞ logits get 0), written
 * into `out` [E]. Needs a log with logits.
 */
export function routerProbs(log: RoutingLog, layer: number, t: number, out: Float64Array): Float64Array {
  const logits = log.layers[layer]!.logits;
  if (!logits) throw new RoutingLogError(`routing log ${log.source}: layer ${layer} has no router logits`);
  const E = log.nExperts;
  let max = -Infinity;
  for (let e = 0; e < E; e++) max = Math.max(max, logits[t * E + e]!);
  let sum = 0;
  for (let e = 0; e < E; e++) {
    const v = Math.exp(logits[t * E + e]! - max);
    out[e] = v;
    sum += v;
  }
  for (let e = 0; e < E; e++) out[e]! /= sum;
  return out;
}

/** True when every layer of the log carries router logits (entropy, LBL, saturation need them). */
export function hasLogits(log: RoutingLog): boolean {
  return log.layers.every((l) => l.logits !== undefined);
}

/**
 * Mean per-token entropy (nats) of the router's softmax at a layer.
 *
 * @example
 * meanRouterEntropy(log, 0); // ≤ log(E)
 */
export function meanRouterEntropy(log: RoutingLog, layer: number): number {
  const T = tokenCount(log);
  const p = new Float64Array(log.nExperts);
  let sum = 0;
  for (let t = 0; t < T; t++) sum += entropy(routerProbs(log, layer, t, p));
  return sum / T;
}

/**
 * Per-expert share of all token→expert assignments at a layer [E] (sums to 1).
 *
 * @example
 * expertLoad(log, 0); // [0.25, 0.25, 0.25, 0.25] for a perfectly balanced 4-expert layer
 */
export function expertLoad(
  log: RoutingLog,
  layer: number,
  tokens?: { from: number; to: number },
): Float64Array {
  const counts = expertCounts(log, layer, tokens);
  let total = 0;
  for (const c of counts) total += c;
  if (total > 0) for (let e = 0; e < counts.length; e++) counts[e]! /= total;
  return counts;
}

/** Number of assignments to each expert at a layer, over tokens [from, to) (default: all) [E]. */
export function expertCounts(
  log: RoutingLog,
  layer: number,
  tokens?: { from: number; to: number },
): Float64Array {
  const { nExperts: E, topK: k } = log;
  const experts = log.layers[layer]!.experts;
  const from = tokens?.from ?? 0;
  const to = tokens?.to ?? tokenCount(log);
  const counts = new Float64Array(E);
  for (let i = from * k; i < to * k; i++) {
    const e = experts[i]!;
    if (e >= 0) counts[e]! += 1;
  }
  return counts;
}

/** [start, end) token ranges of the log's documents, in order. */
export function documentRanges(log: RoutingLog): { from: number; to: number }[] {
  const ranges: { from: number; to: number }[] = [];
  const T = tokenCount(log);
  let from = 0;
  for (let t = 1; t <= T; t++) {
    if (t === T || log.document[t] !== log.document[t - 1]) {
      ranges.push({ from, to: t });
      from = t;
    }
  }
  return ranges;
}

/**
 * Append-only builder of a routing log, fed one window (or one file's rows) at a time.
 *
 * @example
 * const b = new RoutingLogBuilder({ nLayers: 2, nExperts: 8, topK: 2, source: 'model' });
 * b.addTokens({ document: 0, firstPosition: 0, tokenIds, domain: 'code' });
 * b.addLayer(0, experts, gates, logits); // for the tokens just added
 */
export class RoutingLogBuilder {
  private readonly domainIndex = new Map<string, number>();
  private readonly meta: { document: number[]; position: number[]; tokenId: number[]; domain: number[] };
  private readonly parts: {
    experts: Int32Array[];
    gates: Float32Array[];
    logits: Float32Array[];
    tokens: number;
  }[];

  constructor(private readonly shape: { nLayers: number; nExperts: number; topK: number; source: string }) {
    this.meta = { document: [], position: [], tokenId: [], domain: [] };
    this.parts = Array.from({ length: shape.nLayers }, () => ({
      experts: [],
      gates: [],
      logits: [],
      tokens: 0,
    }));
  }

  /** Add n consecutive tokens of one document starting at `firstPosition`. */
  addTokens(p: {
    document: number;
    firstPosition: number;
    tokenIds: ArrayLike<number>;
    domain: string;
  }): void {
    let d = this.domainIndex.get(p.domain);
    if (d === undefined) {
      d = this.domainIndex.size;
      this.domainIndex.set(p.domain, d);
    }
    for (let i = 0; i < p.tokenIds.length; i++) {
      this.meta.document.push(p.document);
      this.meta.position.push(p.firstPosition + i);
      this.meta.tokenId.push(p.tokenIds[i]!);
      this.meta.domain.push(d);
    }
  }

  /** Routing of layer l for the next `experts.length / topK` tokens (copied). */
  addLayer(l: number, experts: Int32Array, gates: Float32Array, logits?: Float32Array): void {
    const part = this.parts[l];
    if (!part)
      throw new RoutingLogError(`routing log ${this.shape.source}: layer ${l} of ${this.parts.length}`);
    part.experts.push(experts.slice());
    part.gates.push(gates.slice());
    if (logits) part.logits.push(logits.slice());
    part.tokens += experts.length / this.shape.topK;
  }

  /** The finished, validated log. */
  build(): RoutingLog {
    const log: RoutingLog = {
      nExperts: this.shape.nExperts,
      topK: this.shape.topK,
      domains: [...this.domainIndex.keys()],
      document: Int32Array.from(this.meta.document),
      position: Int32Array.from(this.meta.position),
      tokenId: Int32Array.from(this.meta.tokenId),
      domain: Int32Array.from(this.meta.domain),
      source: this.shape.source,
      layerIds: this.parts.map((_, l) => l),
      layers: this.parts.map((p, l) => {
        if (p.logits.length !== 0 && p.logits.length !== p.experts.length) {
          throw new RoutingLogError(
            `routing log ${this.shape.source}: layer ${l} has router logits for only some tokens`,
          );
        }
        return {
          experts: concat(Int32Array, p.experts),
          gates: concat(Float32Array, p.gates),
          logits: p.logits.length > 0 ? concat(Float32Array, p.logits) : undefined,
        };
      }),
    };
    validateRoutingLog(log);
    return log;
  }
}

function concat<A extends Int32Array | Float32Array>(Ctor: { new (n: number): A }, parts: readonly A[]): A {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p as never, o);
    o += p.length;
  }
  return out;
}
