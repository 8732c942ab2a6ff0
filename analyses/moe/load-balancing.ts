/**
 * The load-balancing loss of recorded routing, at micro-batch and at global scope
 * (METHODS.md "Load-balancing loss" and "Global-batch LBL", after "Demons in the Detail").
 *
 * LBL = N_E · Σ_i f_i · p_i, with f_i the share of token→expert assignments that went to expert i
 * (Σ f = 1) and p_i the mean router probability of expert i; 1 when routing is perfectly even.
 * Micro scope computes f and p inside each micro-batch and averages the micro-batches' losses;
 * global scope takes f over all tokens while p stays per micro-batch. A micro-batch is one
 * document (sequence) or N consecutive tokens of one domain.
 */
import {
  expertCounts,
  documentRanges,
  hasLogits,
  routerProbs,
  tokenCount,
  RoutingLogError,
  type RoutingLog,
} from './routing-log';

export type MicroBatchScope = { by: 'document' } | { by: 'tokens'; n: number };

export interface LayerBalance {
  layer: number;
  /** Mean over micro-batches of N_E·Σ f_i^micro·p_i^micro. */
  lblMicro: number;
  /** Mean over micro-batches of N_E·Σ f_i^global·p_i^micro. */
  lblGlobal: number;
  /**
   * Per domain and scope, the coefficient N_E·f_i each expert's router probability gets in the
   * loss (its gradient), averaged over the domain's micro-batches: above 1 the scope pushes the
   * expert's probability down in that domain's tokens, below 1 it draws tokens to it.
   */
  push: { domain: string; micro: number[]; global: number[] }[];
}

export interface BalanceReport {
  scope: MicroBatchScope;
  microBatches: number;
  layers: LayerBalance[];
  /** Means over layers. */
  lblMicro: number;
  lblGlobal: number;
}

/**
 * Micro-batches of a log: token ranges, each inside one document (by document) or inside one
 * domain's consecutive tokens (by N tokens; a shorter remainder is its own micro-batch).
 */
export function microBatches(
  log: RoutingLog,
  scope: MicroBatchScope,
): { from: number; to: number; domain: number }[] {
  const docs = documentRanges(log);
  if (scope.by === 'document') return docs.map((r) => ({ ...r, domain: log.domain[r.from]! }));
  if (!(Number.isInteger(scope.n) && scope.n >= 1)) {
    throw new RangeError(`a micro-batch of N tokens needs a positive integer N, got ${scope.n}`);
  }
  const out: { from: number; to: number; domain: number }[] = [];
  const T = tokenCount(log);
  let from = 0;
  for (let t = 1; t <= T; t++) {
    if (t === T || log.domain[t] !== log.domain[from] || t - from === scope.n) {
      out.push({ from, to: t, domain: log.domain[from]! });
      from = t;
    }
  }
  return out;
}

/**
 * LBL at both scopes per layer, and which experts each scope pushes per domain.
 *
 * @example
 * const r = loadBalance(log, { by: 'document' });
 * r.lblMicro >= r.lblGlobal; // usually: even routing inside every sequence is the harder target
 * @throws RoutingLogError when the log has no router logits (p_i needs them).
 */
export function loadBalance(log: RoutingLog, scope: MicroBatchScope): BalanceReport {
  if (!hasLogits(log)) {
    throw new RoutingLogError(
      `routing log ${log.source}: the load-balancing loss needs router logits (p_i), and this log has none`,
    );
  }
  const E = log.nExperts;
  const batches = microBatches(log, scope);
  const p = new Float64Array(E);
  const layers = log.layers.map((_, layer): LayerBalance => {
    const fGlobal = normalise(expertCounts(log, layer));
    let micro = 0;
    let global = 0;
    const pushSum = log.domains.map(() => ({
      micro: new Float64Array(E),
      global: new Float64Array(E),
      n: 0,
    }));
    for (const b of batches) {
      const f = normalise(expertCounts(log, layer, b));
      const pMean = new Float64Array(E);
      for (let t = b.from; t < b.to; t++) {
        routerProbs(log, layer, t, p);
        for (let e = 0; e < E; e++) pMean[e]! += p[e]!;
      }
      for (let e = 0; e < E; e++) pMean[e]! /= b.to - b.from;
      micro += E * dot(f, pMean);
      global += E * dot(fGlobal, pMean);
      const acc = pushSum[b.domain]!;
      for (let e = 0; e < E; e++) {
        acc.micro[e]! += E * f[e]!;
        acc.global[e]! += E * fGlobal[e]!;
      }
      acc.n++;
    }
    return {
      layer,
      lblMicro: micro / batches.length,
      lblGlobal: global / batches.length,
      push: log.domains.flatMap((domain, d) => {
        const acc = pushSum[d]!;
        if (acc.n === 0) return [];
        return [
          {
            domain,
            micro: Array.from(acc.micro, (x) => x / acc.n),
            global: Array.from(acc.global, (x) => x / acc.n),
          },
        ];
      }),
    };
  });
  const mean = (f: (l: LayerBalance) => number) => layers.reduce((s, l) => s + f(l), 0) / layers.length;
  return {
    scope,
    microBatches: batches.length,
    layers,
    lblMicro: mean((l) => l.lblMicro),
    lblGlobal: mean((l) => l.lblGlobal),
  };
}

function normalise(counts: Float64Array): Float64Array {
  let total = 0;
  for (const c of counts) total += c;
  if (total > 0) for (let e = 0; e < counts.length; e++) counts[e]! /= total;
  return counts;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
