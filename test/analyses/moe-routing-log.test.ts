/**
 * Routing-log analyses on hand-computed cases: co-activation, saturation, vocabulary
 * specialisation, cross-layer consistency, chunk sparsity, the load-balancing loss at both scopes
 * and the auxiliary-loss-free bias simulation.
 */
import { describe, expect, it } from 'vitest';
import {
  chunkSparsity,
  coactivation,
  crossLayerConsistency,
  expertChunkSparsity,
  expertImportance,
  expertLoad,
  loadBalance,
  maxOverMean,
  meanRouterEntropy,
  microBatches,
  pruneLeastImportant,
  routingOverlap,
  RoutingLogBuilder,
  RoutingLogError,
  simulateAuxFree,
  topKMass,
  validateRoutingLog,
  vocabularySpecialisation,
  moeLogReport,
  moeCoactivationTable,
  moeTokenExpertTable,
  moeChunkTable,
  moeBalanceTable,
  moeVocabularyTable,
  type RoutingLog,
} from '../../analyses/moe';
import { tableRows } from '../../runtime/tables';

interface TokenSpec {
  doc: number;
  id: number;
  domain?: string;
  /** Per layer: chosen experts (best first), gates, router probabilities [E]. */
  layers: { experts: number[]; gates?: number[]; probs?: number[] }[];
}

/** A log from per-token specs (positions count within each document). */
function logOf(E: number, k: number, tokens: TokenSpec[]): RoutingLog {
  const L = tokens[0]!.layers.length;
  const b = new RoutingLogBuilder({ nLayers: L, nExperts: E, topK: k, source: 'hand' });
  const pos = new Map<number, number>();
  for (const t of tokens) {
    const p = pos.get(t.doc) ?? 0;
    pos.set(t.doc, p + 1);
    b.addTokens({ document: t.doc, firstPosition: p, tokenIds: [t.id], domain: t.domain ?? 'text' });
    t.layers.forEach((ly, l) =>
      b.addLayer(
        l,
        Int32Array.from(ly.experts),
        Float32Array.from(ly.gates ?? ly.experts.map(() => 1 / k)),
        ly.probs ? Float32Array.from(ly.probs, Math.log) : undefined,
      ),
    );
  }
  return b.build();
}

describe('routing-log analyses on hand-computed cases', () => {
  it('co-activation is the share of expert i’s tokens that also chose j', () => {
    const log = logOf(4, 2, [
      { doc: 0, id: 1, layers: [{ experts: [0, 1] }] },
      { doc: 0, id: 2, layers: [{ experts: [0, 2] }] },
      { doc: 0, id: 3, layers: [{ experts: [2, 1] }] },
    ]);
    const c = coactivation(log, 0);
    const row = (i: number) => Array.from(c.subarray(i * 4, i * 4 + 4));
    expect(row(0)).toEqual([1, 0.5, 0.5, 0]);
    expect(row(1)).toEqual([0.5, 1, 0.5, 0]);
    expect(row(3)).toEqual([0, 0, 0, 0]); // never chosen
    expect(Array.from(expertLoad(log, 0))).toEqual([2 / 6, 2 / 6, 2 / 6, 0]);
  });

  it('top-k mass, router entropy and the overlap with a reference routing', () => {
    const probs = [0.5, 0.3, 0.1, 0.1];
    const log = logOf(4, 2, [
      { doc: 0, id: 1, layers: [{ experts: [0, 1], probs }] },
      { doc: 0, id: 2, layers: [{ experts: [0, 1], probs }] },
    ]);
    expect(topKMass(log, 0)).toBeCloseTo(0.8, 6);
    const h = -probs.reduce((s, p) => s + p * Math.log(p), 0);
    expect(meanRouterEntropy(log, 0)).toBeCloseTo(h, 6);
    const other = logOf(4, 2, [
      { doc: 0, id: 1, layers: [{ experts: [1, 0], probs }] }, // same set, other order: 2 of 2
      { doc: 0, id: 2, layers: [{ experts: [2, 3], probs }] }, // disjoint: 0 of 2
    ]);
    expect(routingOverlap(log, other, 0)).toBe(0.5);
    expect(routingOverlap(log, log, 0)).toBe(1);
    const shifted = logOf(4, 2, [
      { doc: 0, id: 9, layers: [{ experts: [0, 1], probs }] },
      { doc: 0, id: 2, layers: [{ experts: [0, 1], probs }] },
    ]);
    expect(() => routingOverlap(log, shifted, 0)).toThrow(/token 0 is 1 .* but 9/);
  });

  it('vocabulary specialisation: a token id always sent to one expert has share 1', () => {
    const log = logOf(4, 1, [
      ...[0, 1, 2].map((i) => ({ doc: 0, id: 5 + 0 * i, layers: [{ experts: [2] }] })),
      { doc: 0, id: 7, layers: [{ experts: [0] }] },
      { doc: 0, id: 7, layers: [{ experts: [1] }] },
      { doc: 0, id: 8, layers: [{ experts: [3] }] }, // seen once: below minCount
    ]);
    const v = vocabularySpecialisation(log, 0, { minCount: 2 });
    expect(v.experts[2]!.tokens[0]).toEqual({ tokenId: 5, share: 1, count: 3 });
    expect(v.experts[0]!.tokens[0]).toEqual({ tokenId: 7, share: 0.5, count: 1 });
    expect(v.experts[3]!.tokens).toEqual([]);
    // token 5: best 3 of 3; token 7: best 1 of 2 → (3 + 1) / 5.
    expect(v.score).toBeCloseTo(4 / 5, 12);
    expect(v.uniform).toBe(0.25);
  });

  it('cross-layer consistency: a permutation is perfectly predictable; independence is not', () => {
    const perm = [2, 0, 3, 1];
    const tokens: TokenSpec[] = [];
    for (let i = 0; i < 16; i++) {
      const e = i % 4;
      tokens.push({
        doc: 0,
        id: i,
        layers: [{ experts: [e] }, { experts: [perm[e]!] }, { experts: [Math.floor(i / 4)] }],
      });
    }
    const [l0, l1] = crossLayerConsistency(logOf(4, 1, tokens));
    expect(l0!.predictability).toBe(1);
    expect(l0!.normalisedMutualInformation).toBeCloseTo(1, 12);
    expect(l0!.baseline).toBe(0.25);
    // Layer 2's expert (i / 4) is independent of layer 1's (a function of i mod 4).
    expect(l1!.predictability).toBe(0.25);
    expect(l1!.normalisedMutualInformation).toBeCloseTo(0, 12);
  });

  it('chunk sparsity: TLS = 1 − k/E and CLS from the union of a chunk’s experts', () => {
    // E = 8, k = 2; document 0: {0,1},{0,1},{2,3},{4,5}; document 1: {6,7},{6,7}.
    const sets = [
      [0, 1],
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
      [6, 7],
    ];
    const log = logOf(
      8,
      2,
      sets.map((experts, i) => ({ doc: i < 4 ? 0 : 1, id: i, layers: [{ experts }] })),
    );
    const { tls, curve } = expertChunkSparsity(log, 0, [1, 2, 4]);
    expect(tls).toBeCloseTo(1 - 2 / 8, 12);
    expect(curve[0]).toEqual({ chunk: 1, cls: 1 - 2 / 8, chunks: 6 });
    // L = 2: chunks {0,1}∪{0,1} = 2, {2,3}∪{4,5} = 4, {6,7}∪{6,7} = 2 → mean 8/3 of 8.
    expect(curve[1]!.cls).toBeCloseTo(1 - 8 / 3 / 8, 12);
    expect(curve[1]!.chunks).toBe(3);
    // L = 4: only document 0 has a full chunk: 6 experts of 8.
    expect(curve[2]).toEqual({ chunk: 4, cls: 1 - 6 / 8, chunks: 1 });
    expect(() => expertChunkSparsity(log, 0, [5])).toThrow(/no document has 5 tokens/);
    expect(() => chunkSparsity(4, () => [0], [{ from: 0, to: 2 }], [0])).toThrow(/positive integer/);
  });

  it('LBL: experts specialised by document are penalised at micro scope, not at global scope', () => {
    // Document A always routes to expert 0 with p = (0.9, 0.1); document B to expert 1, p = (0.1, 0.9).
    const tokens: TokenSpec[] = [];
    for (let i = 0; i < 4; i++)
      tokens.push({ doc: 0, id: i, domain: 'a', layers: [{ experts: [0], probs: [0.9, 0.1] }] });
    for (let i = 0; i < 4; i++)
      tokens.push({ doc: 1, id: i, domain: 'b', layers: [{ experts: [1], probs: [0.1, 0.9] }] });
    const log = logOf(2, 1, tokens);
    const r = loadBalance(log, { by: 'document' });
    // micro: per document f = (1, 0), p = (0.9, 0.1): 2 · 0.9 = 1.8. global: f = (½, ½): 2 · ½ = 1.
    expect(r.lblMicro).toBeCloseTo(1.8, 6);
    expect(r.lblGlobal).toBeCloseTo(1.0, 6);
    expect(r.microBatches).toBe(2);
    const a = r.layers[0]!.push.find((p) => p.domain === 'a')!;
    expect(a.micro).toEqual([2, 0]); // micro scope pushes expert 0 down in domain a's sequences
    expect(a.global).toEqual([1, 1]); // global scope pushes nothing: the load is even overall
    // Micro-batches of 2 tokens stay inside one domain: 4 batches, same numbers.
    expect(microBatches(log, { by: 'tokens', n: 3 }).map((b) => b.to - b.from)).toEqual([3, 1, 3, 1]);
    expect(loadBalance(log, { by: 'tokens', n: 2 }).lblMicro).toBeCloseTo(1.8, 6);
    // Perfectly even routing scores 1 at both scopes.
    const even = logOf(2, 1, [
      { doc: 0, id: 0, layers: [{ experts: [0], probs: [0.5, 0.5] }] },
      { doc: 0, id: 1, layers: [{ experts: [1], probs: [0.5, 0.5] }] },
    ]);
    expect(loadBalance(even, { by: 'document' }).lblMicro).toBeCloseTo(1, 6);
    const noLogits = logOf(2, 1, [{ doc: 0, id: 0, layers: [{ experts: [0] }] }]);
    expect(() => loadBalance(noLogits, { by: 'document' })).toThrow(/needs router logits/);
  });

  it('aux-free balancing: the bias evens a skewed router’s load and moves only what it must', () => {
    // E = 4, k = 1: expert 0 wins every token, by margins spread over [0, 0.3).
    const tokens: TokenSpec[] = [];
    for (let i = 0; i < 400; i++) {
      const u = (i * 0.6180339887) % 1;
      const v = (i * 0.4142135623) % 1;
      const rest = [0.1 + 0.1 * v, 0.1 + 0.1 * (1 - v), 0.15];
      const p = [Math.max(...rest) + 0.3 * u + 1e-3, ...rest];
      const s = p.reduce((a, b) => a + b, 0);
      tokens.push({ doc: 0, id: i % 11, layers: [{ experts: [0], probs: p.map((x) => x / s) }] });
    }
    const log = logOf(4, 1, tokens);
    const r = simulateAuxFree(log, { rate: 0.005, stepTokens: 20, epochs: 3 });
    expect(r.maxOverMeanBefore).toBe(4);
    expect(r.maxOverMeanAfter).toBeLessThan(1.2);
    // Even load needs 3 of every 4 tokens moved off expert 0, and no more than a few extra.
    expect(r.moved).toBeGreaterThan(0.74);
    expect(r.moved).toBeLessThan(0.8);
    const steps = r.layers[0]!.steps;
    expect(steps).toHaveLength(60);
    expect(steps[0]).toBe(4);
    expect(Math.min(...steps.slice(-10))).toBeLessThan(2);
    expect(r.layers[0]!.bias[0]).toBeLessThan(0);
    expect(maxOverMean([1, 1, 1, 1])).toBe(1);
    expect(() => simulateAuxFree(log, { rate: 0 })).toThrow(/rate must be positive/);
  });

  it('expert importance by frequency and by gate weight, and the experts pruning drops', () => {
    const log = logOf(3, 2, [
      { doc: 0, id: 0, layers: [{ experts: [0, 1], gates: [0.95, 0.05] }] },
      { doc: 0, id: 1, layers: [{ experts: [0, 1], gates: [0.9, 0.1] }] },
      { doc: 0, id: 2, layers: [{ experts: [2, 1], gates: [0.6, 0.4] }] },
    ]);
    expect(expertImportance(log, 'frequency')[0]).toEqual([2 / 6, 3 / 6, 1 / 6]);
    const w = expertImportance(log, 'weight')[0]!;
    expect(w[0]).toBeCloseTo(1.85 / 3, 6);
    expect(w[1]).toBeCloseTo(0.55 / 3, 6);
    // By frequency expert 2 is least used; by weight expert 1 (used most often, with small gates).
    expect(pruneLeastImportant(expertImportance(log, 'frequency'), 1).layers![0]!.disabledExperts).toEqual([
      2,
    ]);
    expect(pruneLeastImportant(expertImportance(log, 'weight'), 1).layers![0]!.disabledExperts).toEqual([1]);
  });

  it('the Arrow tables of a report carry every layer, expert and token', () => {
    const probs = [0.5, 0.3, 0.1, 0.1];
    const log = logOf(4, 2, [
      {
        doc: 0,
        id: 1,
        layers: [
          { experts: [0, 1], probs },
          { experts: [2, 3], probs },
        ],
      },
      {
        doc: 0,
        id: 2,
        layers: [
          { experts: [0, 2], probs },
          { experts: [3, 1], probs },
        ],
      },
      {
        doc: 1,
        id: 3,
        layers: [
          { experts: [1, 0], probs },
          { experts: [0, 1], probs },
        ],
      },
    ]);
    const report = moeLogReport(log, { chunks: [1, 2], minCount: 1 });
    expect(report.coactivation).toHaveLength(2);
    const co = moeCoactivationTable(report);
    expect(co.numRows).toBe(2 * 4 * 4);
    expect(co.schema.metadata.get('sparsebook.table')).toBe('moe-coactivation');
    const map = tableRows<{ token: number; layer: number; expert: number }>(moeTokenExpertTable(log));
    expect(map).toHaveLength(3 * 2);
    expect(map.filter((r) => r.layer === 1).map((r) => r.expert)).toEqual([2, 3, 0]);
    expect(moeChunkTable(report).numRows).toBe(2 * 2);
    const balance = tableRows<{ lbl_micro: number }>(moeBalanceTable(report));
    expect(balance[0]!.lbl_micro).toBeCloseTo(report.log_layers[0]!.lbl_micro!, 6);
    expect(moeVocabularyTable(report).numRows).toBeGreaterThan(0);
    // The report's per-layer load is the routing-count path's (summarizeRouting).
    expect(report.layers[0]!.load).toEqual(Array.from(expertLoad(log, 0)));
  });

  it('validation names the source, the layer and the token', () => {
    const log = logOf(2, 1, [{ doc: 0, id: 0, layers: [{ experts: [1] }] }]);
    const broken = { ...log, layers: [{ ...log.layers[0]!, experts: Int32Array.of(5) }] };
    expect(() => validateRoutingLog(broken)).toThrow(RoutingLogError);
    expect(() => validateRoutingLog(broken)).toThrow(
      /routing log hand: layer 0, token 0: expert 5 outside \[0, 2\)/,
    );
    const nan = { ...log, layers: [{ ...log.layers[0]!, gates: Float32Array.of(Number.NaN) }] };
    expect(() => validateRoutingLog(nan)).toThrow(/gate weight NaN is not finite/);
  });
});
