/**
 * The MoE routing cell kind in Node: its registration and view params, the corpus URLs it fetches
 * and the request it sends (against a fake runtime and fetch), and its view helpers over a small
 * hand-made routing result (two layers, two domains, three experts, top-1).
 */
import { tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  addRouting,
  emptyRoutingCounts,
  moeLayerTable,
  moeUsageTable,
  summarizeRouting,
} from '../../../analyses/moe';
import type { CellServices, RunContext } from '../../../app/cells/cell-kind';
import { kindOf } from '../../../app/cells/kinds';
import {
  clampLayer,
  decodeMoe,
  layerRows,
  loadBars,
  moeView,
  specialisationLine,
  uniformLabel,
  usageMatrix,
} from '../../../app/cells/moe-routing/moe-data';
import { corpusUrl, MOE_DOMAINS, moeRoutingKind } from '../../../app/cells/moe-routing/moe-routing-kind';
import type { CellResult, Json } from '../../../app/notebook/cell-runtime';
import type { CellDoc } from '../../../app/notebook/document';
import { moeLoadTable, type MoeRoutingRequest } from '../../../workers/moe-jobs';
import type { MoeRoutingSummary } from '../../../workers/runtime-types';

/**
 * Layer 0: domain a → experts 0, 0, 1; domain b → expert 2 (4 tokens each way: a split 8/4, b 4 to
 * e2). Layer 1 ignores the domain: every token to expert 1.
 */
function routingResult(): CellResult {
  const E = 3;
  const counts = emptyRoutingCounts(['a', 'b'], 2, E, 1);
  const route = (l: number, d: number, experts: number[]) =>
    addRouting(
      counts.layers[l]!,
      E,
      d,
      new Float32Array(experts.length * E).fill(1 / E),
      Int32Array.from(experts),
    );
  route(0, 0, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  route(0, 1, [2, 2, 2, 2]);
  route(1, 0, Array<number>(12).fill(1));
  route(1, 1, Array<number>(4).fill(1));
  const s = summarizeRouting(counts);
  const summary: MoeRoutingSummary = { ...s, model: 'toy', ms: 1 };
  return {
    meta: summary as unknown as Json,
    tables: {
      usage: tableToIPC(moeUsageTable(counts), 'stream'),
      layers: tableToIPC(moeLayerTable(s), 'stream'),
      load: tableToIPC(moeLoadTable(summary), 'stream'),
    },
  };
}

describe('moe-routing kind', () => {
  it('is registered with layer and view as view params', () => {
    expect(kindOf('moe-routing')).toBe(moeRoutingKind);
    expect(moeRoutingKind.title).toBe('MoE routing');
    expect(moeRoutingKind.defaults()).toEqual({ maxTokens: 2048, layer: 0, view: 'usage' });
    expect(moeRoutingKind.viewParams).toEqual(['layer', 'view']);
    expect(moeRoutingKind.inputs).toMatchObject([{ role: 'model', label: 'Model', kinds: ['model'] }]);
  });

  it('builds corpus URLs under any base path', () => {
    expect(corpusUrl('code', '/')).toBe('/models/corpus/valid-code.txt');
    expect(corpusUrl('email', '/sparsebook')).toBe('/sparsebook/models/corpus/valid-email.txt');
    expect(corpusUrl('literature')).toMatch(/\/models\/corpus\/valid-literature\.txt$/);
  });

  it('fetches the four domain texts, sends them with the budget and the model key', async () => {
    const fetched: string[] = [];
    let sent: MoeRoutingRequest | undefined;
    let key: string | undefined;
    const phases: (string | undefined)[] = [];
    const services = {
      fetchBytes: async (url: string) => {
        fetched.push(url);
        return new TextEncoder().encode(`text of ${url}`).buffer;
      },
      runtime: {
        moeRouting: async (
          r: MoeRoutingRequest,
          o: { model?: string; onProgress?: (p: { done: number; total: number }) => void },
        ) => {
          sent = r;
          key = o.model;
          o.onProgress?.({ done: 3, total: 8 });
          return {
            tables: { usage: new Uint8Array(1), layers: new Uint8Array(2), load: new Uint8Array(3) },
            summary: { nLayers: 4 },
          };
        },
      },
    } as unknown as CellServices;
    const ctx = {
      cell: { id: 'c1', kind: 'moe-routing', params: { ...moeRoutingKind.defaults(), maxTokens: 512 } },
      inputs: { model: { cell: { params: {} }, result: { meta: { key: 'moe-model' }, tables: {} } } },
      signal: new AbortController().signal,
      progress: (_f: number | undefined, p?: string) => phases.push(p),
      services,
    } as unknown as RunContext;
    const r = await moeRoutingKind.run!(ctx);
    expect(fetched).toEqual(MOE_DOMAINS.map((d) => corpusUrl(d)));
    expect(sent!.maxTokensPerDomain).toBe(512);
    expect(sent!.domains.map((d) => d.domain)).toEqual([...MOE_DOMAINS]);
    expect(sent!.domains[3]!.text).toBe(`text of ${corpusUrl('code')}`);
    expect(key).toBe('moe-model');
    expect(phases.at(-1)).toBe('Window 3 of 8');
    expect(Object.keys(r.tables)).toEqual(['usage', 'layers', 'load']);
    expect(r.meta).toEqual({ nLayers: 4 });

    for (const bad of [0, 2.5, 1e9, 'x']) {
      const c = { ...ctx, cell: { ...ctx.cell, params: { ...ctx.cell.params, maxTokens: bad } } as CellDoc };
      await expect(moeRoutingKind.run!(c)).rejects.toThrow(/tokens per domain/);
    }
  });

  it('names a corpus file that is not UTF-8', async () => {
    const ctx = {
      cell: { id: 'c1', kind: 'moe-routing', params: moeRoutingKind.defaults() },
      inputs: { model: { cell: { params: {} }, result: { meta: { key: 'k' }, tables: {} } } },
      signal: new AbortController().signal,
      progress: () => {},
      services: { fetchBytes: async () => new Uint8Array([0xff, 0xfe]).buffer } as unknown as CellServices,
    } as unknown as RunContext;
    await expect(moeRoutingKind.run!(ctx)).rejects.toThrow(/valid-literature\.txt is not valid UTF-8/);
  });
});

describe('moe-routing view data', () => {
  const d = decodeMoe(routingResult());

  it('decodes the shape and checks the tables against it', () => {
    expect(d.domains).toEqual(['a', 'b']);
    expect([d.nLayers, d.nExperts]).toEqual([2, 3]);
    const bad = routingResult();
    bad.tables.load = bad.tables.layers!;
    expect(() => decodeMoe(bad)).toThrow(/load table has 2 rows, expected 6/);
  });

  it('reads the domain × expert matrix either way', () => {
    expect(Array.from(usageMatrix(d, 0, 'usage'))).toEqual(
      [2 / 3, 1 / 3, 0, 0, 0, 1].map((x) => expect.closeTo(x, 6)),
    );
    // Expert 0 and 1 see only domain a, expert 2 only b.
    expect(Array.from(usageMatrix(d, 0, 'experts'))).toEqual([1, 1, 0, 0, 0, 1]);
    expect(Array.from(usageMatrix(d, 1, 'usage'))).toEqual([0, 1, 0, 0, 1, 0]);
    expect(() => usageMatrix(d, 2, 'usage')).toThrow(/layer must be/);
    expect(() => usageMatrix(d, 0, 'nope' as never)).toThrow(/unknown MoE view "nope"/);
  });

  it('gives the load bars with the uniform reference last', () => {
    const t = loadBars(d, 0);
    expect(t.getChild('expert')!.toArray()).toEqual(['e0', 'e1', 'e2', uniformLabel(3)]);
    expect(Array.from(t.getChild('load')!.toArray() as Float32Array)).toEqual(
      [0.5, 0.25, 0.25, 1 / 3].map((x) => expect.closeTo(x, 6)),
    );
  });

  it('lists per-layer scalars and the specialisation line', () => {
    const rows = layerRows(d.summary);
    // Corpus (3/4, 1/4): experts 0 and 1 see only a (KL log 4/3), expert 2 only b (KL log 4).
    const spec0 = (2 * Math.log(4 / 3) + Math.log(4)) / 3;
    expect(rows[0]).toMatchObject({ layer: 0, maxLoad: 0.5, specialisation: expect.closeTo(spec0, 12) });
    expect(rows[1]).toMatchObject({ layer: 1, maxLoad: 1, specialisation: expect.closeTo(0, 12) });
    expect(rows[0]!.routerEntropy).toBeCloseTo(Math.log(3), 6);
    expect(specialisationLine(d.summary)).toBe(
      `specialisation (mean KL) per layer: L0 ${spec0.toFixed(4)}, L1 0.0000 nats; mean ${(spec0 / 2).toFixed(4)}`,
    );
  });

  it('normalises view params', () => {
    expect(moeView('experts')).toBe('experts');
    expect(moeView('other')).toBe('usage');
    expect(moeView(undefined)).toBe('usage');
    expect(clampLayer(d, 7)).toBe(1);
    expect(clampLayer(d, -1)).toBe(0);
    expect(clampLayer(d, 'x')).toBe(0);
  });
});
