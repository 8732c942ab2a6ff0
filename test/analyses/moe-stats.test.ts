import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import {
  addRouting,
  emptyRoutingCounts,
  entropy,
  klDivergence,
  MOE_LAYER_SCHEMA,
  MOE_USAGE_SCHEMA,
  moeLayerTable,
  moeStats,
  moeUsageTable,
  summarizeRouting,
  type RoutingCounts,
} from '../../analyses/moe';
import { LlamaModel } from '../../runtime/model/llama';
import { randomWeights, tinyConfig, tinyMoeConfig } from '../runtime/synthetic';

/** Counts for one layer from a [D][E] table of assignments (k = 1, uniform router probs). */
function countsFrom(table: number[][]): RoutingCounts {
  const D = table.length;
  const E = table[0]!.length;
  const counts = emptyRoutingCounts(
    Array.from({ length: D }, (_, d) => `d${d}`),
    1,
    E,
    1,
  );
  const uniform = (n: number) => new Float32Array(n * E).fill(1 / E);
  table.forEach((row, d) =>
    row.forEach((n, e) => {
      if (n > 0) addRouting(counts.layers[0]!, E, d, uniform(n), new Int32Array(n).fill(e));
    }),
  );
  return counts;
}

describe('routing statistics on hand-computed cases', () => {
  it('perfect specialisation over a uniform corpus: KL = log(#domains) for every expert', () => {
    const s = summarizeRouting(
      countsFrom([
        [5, 0, 0, 0],
        [0, 5, 0, 0],
        [0, 0, 5, 0],
        [0, 0, 0, 5],
      ]),
    );
    const l = s.layers[0]!;
    for (const kl of l.expertKl) expect(kl).toBeCloseTo(Math.log(4), 12);
    expect(l.specialisation).toBeCloseTo(Math.log(4), 12);
    expect(l.load).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(l.loadEntropy).toBeCloseTo(Math.log(4), 12);
    expect(l.usage.d2).toEqual([0, 0, 1, 0]);
    expect(s.specialisation).toBeCloseTo(Math.log(4), 12);
  });

  it('routing that ignores the domain: KL = 0', () => {
    const s = summarizeRouting(
      countsFrom([
        [3, 6, 9],
        [1, 2, 3],
      ]),
    );
    for (const kl of s.layers[0]!.expertKl) expect(kl).toBeCloseTo(0, 12);
    expect(s.layers[0]!.specialisation).toBeCloseTo(0, 12);
    expect(s.layers[0]!.load.map((x) => x * 24)).toEqual([4, 8, 12].map((x) => expect.closeTo(x, 12)));
  });

  it('an unbalanced corpus (worked by hand)', () => {
    // Corpus q = (3/4, 1/4). Expert 0 sees only domain 0 → KL = log(4/3). Expert 1 sees (1/2, 1/2)
    // → ½·log(2/3) + ½·log(2) = ½·log(4/3). Mean: ¾·log(4/3).
    const s = summarizeRouting(
      countsFrom([
        [20, 10],
        [0, 10],
      ]),
    );
    const l = s.layers[0]!;
    expect(l.expertKl[0]).toBeCloseTo(Math.log(4 / 3), 12);
    expect(l.expertKl[1]).toBeCloseTo(0.5 * Math.log(4 / 3), 12);
    expect(l.specialisation).toBeCloseTo(0.75 * Math.log(4 / 3), 12);
    expect(l.usage).toEqual({ d0: [2 / 3, 1 / 3], d1: [0, 1] });
    expect(s.domains).toEqual([
      { name: 'd0', tokens: 30 },
      { name: 'd1', tokens: 10 },
    ]);
  });

  it('an unused expert has no KL and is left out of the mean', () => {
    const l = summarizeRouting(
      countsFrom([
        [4, 0, 0],
        [0, 4, 0],
      ]),
    ).layers[0]!;
    expect(l.expertKl).toEqual([expect.closeTo(Math.log(2), 12), expect.closeTo(Math.log(2), 12), null]);
    expect(l.specialisation).toBeCloseTo(Math.log(2), 12);
    expect(l.load).toEqual([0.5, 0.5, 0]);
  });

  it('router entropy is the mean per-token entropy of the probabilities; k = 2 and empty slots', () => {
    const counts = emptyRoutingCounts(['a'], 1, 4, 2);
    // Token 0: uniform (log 4). Token 1: (1/4, 3/4, 0, 0) (a disabled expert has p = 0).
    const probs = Float32Array.of(0.25, 0.25, 0.25, 0.25, 0.25, 0.75, 0, 0);
    addRouting(counts.layers[0]!, 4, 0, probs, Int32Array.of(0, 3, 1, -1));
    const l = summarizeRouting(counts).layers[0]!;
    const h1 = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    expect(l.routerEntropy).toBeCloseTo((Math.log(4) + h1) / 2, 6);
    expect(l.load).toEqual([1 / 3, 1 / 3, 0, 1 / 3]);
    expect(() => addRouting(counts.layers[0]!, 4, 0, probs, Int32Array.of(0, 4, 1, 1))).toThrow(
      /expert index 4/,
    );
  });

  it('entropy and KL helpers', () => {
    expect(entropy([1, 1, 1, 1])).toBeCloseTo(Math.log(4), 12);
    expect(entropy([0, 5])).toBe(0);
    expect(klDivergence([1, 0], [1, 1])).toBeCloseTo(Math.log(2), 12);
    expect(klDivergence([1, 1], [1, 0])).toBe(Infinity);
  });
});

describe('MoE tables', () => {
  const counts = countsFrom([
    [20, 10],
    [0, 10],
  ]);

  it('usage: one row per (layer, domain, expert), both shares', () => {
    const t = moeUsageTable(counts);
    expect(t.schema).toEqual(MOE_USAGE_SCHEMA);
    expect(t.numRows).toBe(4);
    expect(t.toArray().map((r) => r.toJSON())).toEqual([
      { layer: 0, domain: 'd0', expert: 0, share_of_domain: expect.closeTo(2 / 3, 6), share_of_expert: 1 },
      { layer: 0, domain: 'd0', expert: 1, share_of_domain: expect.closeTo(1 / 3, 6), share_of_expert: 0.5 },
      { layer: 0, domain: 'd1', expert: 0, share_of_domain: 0, share_of_expert: 0 },
      { layer: 0, domain: 'd1', expert: 1, share_of_domain: 1, share_of_expert: 0.5 },
    ]);
  });

  it('layers: entropies, specialisation and the largest load', () => {
    const t = moeLayerTable(summarizeRouting(counts));
    expect(t.schema).toEqual(MOE_LAYER_SCHEMA);
    const row = t.get(0)!.toJSON();
    expect(row.layer).toBe(0);
    expect(row.router_entropy).toBeCloseTo(Math.log(2), 6);
    expect(row.load_entropy).toBeCloseTo(Math.log(2), 6);
    expect(row.specialisation).toBeCloseTo(0.75 * Math.log(4 / 3), 6);
    expect(row.max_load).toBeCloseTo(0.5, 6);
  });
});

describe('moeStats on a model (CPU)', () => {
  const backend = createCpuBackend();
  const config = tinyMoeConfig(
    { nLayers: 2, dim: 16, nHeads: 2, nKvHeads: 1, vocabSize: 16, seqLen: 8 },
    { nExperts: 4, topK: 2 },
  );
  const model = LlamaModel.load(backend, {
    config,
    weights: randomWeights(config, 21, 0.8),
    fileName: 'tiny-moe',
  });
  const stream = (seed: number, n: number) => Int32Array.from({ length: n }, (_, i) => (i * seed + 3) % 16);

  it('counts every token once per layer, top-k assignments each, in windows of seqLen', async () => {
    const progress: number[] = [];
    const r = await moeStats(
      model,
      [
        { domain: 'even', tokens: stream(2, 20) },
        { domain: 'odd', tokens: stream(3, 11) },
      ],
      { onProgress: ({ done }) => progress.push(done) },
    );
    expect(progress).toEqual([0, 1, 2, 3, 4, 5]); // ⌈20/8⌉ + ⌈11/8⌉ windows
    expect(r.summary.domains).toEqual([
      { name: 'even', tokens: 20 },
      { name: 'odd', tokens: 11 },
    ]);
    for (const [l, c] of r.counts.layers.entries()) {
      expect(c.assignments.reduce((a, b) => a + b, 0)).toBe(31 * 2);
      const s = r.summary.layers[l]!;
      expect(s.load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(s.routerEntropy).toBeGreaterThan(0);
      expect(s.routerEntropy).toBeLessThanOrEqual(Math.log(4) + 1e-9);
      expect(s.specialisation).toBeGreaterThanOrEqual(0);
    }
    expect(r.usage.numRows).toBe(2 * 2 * 4);
    expect(r.layers.numRows).toBe(2);
  });

  it('agrees with top-k of the router logits read at the same hook point', async () => {
    const tokens = stream(5, 8);
    const r = await moeStats(model, [{ domain: 'x', tokens }]);
    let logits: Float32Array | undefined;
    const out = await model.forward(tokens, {
      hooks: { 'blocks.1.moe.hook_router_logits': async (t) => void (logits = await backend.read(t)) },
    });
    backend.dispose(out);
    const expected = new Array(4).fill(0);
    for (let t = 0; t < 8; t++) {
      const row = Array.from(logits!.subarray(t * 4, t * 4 + 4));
      const order = [0, 1, 2, 3].sort((a, b) => row[b]! - row[a]! || a - b);
      expected[order[0]!]++;
      expected[order[1]!]++;
    }
    expect(Array.from(r.counts.layers[1]!.assignments)).toEqual(expected);
  });

  it('interventions reach the forward pass; bad input is refused', async () => {
    const r = await moeStats(model, [{ domain: 'x', tokens: stream(3, 8) }], {
      moe: { disabledExperts: [0] },
    });
    for (const l of r.summary.layers) expect(l.load[0]).toBe(0);
    await expect(
      moeStats(model, [
        { domain: 'a', tokens: stream(2, 4) },
        { domain: 'a', tokens: stream(3, 4) },
      ]),
    ).rejects.toThrow(/domain "a" is given twice/);
    const dense = LlamaModel.load(backend, {
      config: tinyConfig(),
      weights: randomWeights(tinyConfig()),
      fileName: 'dense.bin',
    });
    await expect(moeStats(dense, [{ domain: 'a', tokens: stream(2, 4) }])).rejects.toThrow(
      /dense\.bin is dense/,
    );
  });
});
