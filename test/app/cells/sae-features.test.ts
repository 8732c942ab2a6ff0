/**
 * The SAE features cell in Node: its kind's browse request against a fake runtime, and the view
 * helpers (the feature list read from FEATURE_LIST_SCHEMA and sorted, formatting, density bars,
 * the histogram table, the steering diff, typed feature numbers).
 */
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { FEATURE_LIST_SCHEMA } from '../../../analyses/sae/features';
import type { CellServices, RunContext } from '../../../app/cells/cell-kind';
import { kindOf } from '../../../app/cells/kinds';
import {
  activationShade,
  densityBar,
  featureIndex,
  featureRows,
  formatActivation,
  formatDensity,
  histogramTable,
  pageOf,
  sortFeatures,
  sortKeyOf,
  splitCommon,
  type FeatureRow,
} from '../../../app/cells/sae-features/features-view';
import { saeFeaturesKind, type SaeFeaturesMeta } from '../../../app/cells/sae-features/sae-features-kind';
import type { CellDoc } from '../../../app/notebook/document';
import { tableFromRows } from '../../../runtime/tables';
import type { SaeBrowseRequest } from '../../../workers/sae-jobs';

const ROWS: FeatureRow[] = [
  { feature: 0, density: 0.1, max_activation: 2, mean_activation: 0.5, fired: 10 },
  { feature: 1, density: 0, max_activation: 0, mean_activation: 0, fired: 0 },
  { feature: 2, density: 0.3, max_activation: 1, mean_activation: 0.75, fired: 30 },
  { feature: 3, density: 0.1, max_activation: 5, mean_activation: 0.25, fired: 10 },
];

const listTable = () => tableFromRows(FEATURE_LIST_SCHEMA, ROWS);

describe('saeFeaturesKind', () => {
  it('is registered, reads an SAE and a text, and keeps sorting and the card out of the key', () => {
    expect(kindOf('sae-features')).toBe(saeFeaturesKind);
    expect(saeFeaturesKind.title).toBe('SAE features');
    expect(saeFeaturesKind.needsLive).toBe(true);
    expect(saeFeaturesKind.inputs.map((i) => [i.role, i.kinds])).toEqual([
      ['sae', ['sae']],
      ['text', ['text']],
    ]);
    const d = saeFeaturesKind.defaults();
    expect(d.maxWindows).toBe(8);
    expect(d.topN).toBe(8);
    for (const p of ['sortBy', 'descending', 'feature', 'prompt', 'steerMode', 'steerValue', 'steerTokens'])
      expect(saeFeaturesKind.viewParams).toContain(p);
    expect(saeFeaturesKind.viewParams).not.toContain('maxWindows');
    for (const p of saeFeaturesKind.viewParams ?? []) expect(d).toHaveProperty(p);
  });

  const cell = (params: Record<string, unknown> = {}): CellDoc => ({
    id: 'f1',
    kind: 'sae-features',
    params: { ...saeFeaturesKind.defaults(), ...params } as CellDoc['params'],
    inputs: { sae: 's1', text: 't1' },
  });

  function context(c: CellDoc, seen: { request?: SaeBrowseRequest; phases: string[] }): RunContext {
    const list = tableToIPC(listTable(), 'stream');
    const runtime = {
      saeBrowse: async (
        request: SaeBrowseRequest,
        opts: { onProgress?: (p: { done: number; total: number }) => void },
      ) => {
        seen.request = request;
        opts.onProgress?.({ done: 1, total: 2 });
        return { tables: { list }, summary: { tokens: 100, windows: 2, dSae: 4, silent: 1 } };
      },
    };
    return {
      cell: c,
      inputs: {
        sae: {
          cell: { id: 's1', kind: 'sae', params: {}, inputs: {} },
          result: {
            meta: { saeId: 's1#1', hook: 'blocks.1.hook_resid_post', kind: 'topk', dIn: 8, dSae: 4, k: 2 },
            tables: {},
          },
        },
        text: {
          cell: {
            id: 't1',
            kind: 'text',
            params: { text: 'Once upon a time', name: 'tiny.txt' },
            inputs: {},
          },
          result: { meta: null, tables: {} },
        },
      },
      signal: new AbortController().signal,
      progress: (_f, phase) => void (phase && seen.phases.push(phase)),
      partial: () => {},
      waitIfPaused: async () => {},
      services: { runtime } as unknown as CellServices,
    };
  }

  it('browses the SAE cell’s kept SAE over the text and returns the list and its ref', async () => {
    const seen: { request?: SaeBrowseRequest; phases: string[] } = { phases: [] };
    const r = await saeFeaturesKind.run!(context(cell({ maxWindows: 3, topN: 5 }), seen));
    expect(seen.request).toEqual({
      saeCell: 's1',
      saeId: 's1#1',
      text: 'Once upon a time',
      fileName: 'tiny.txt',
      maxWindows: 3,
      topN: 5,
    });
    expect(seen.phases).toEqual(['Browsing features…', 'Window 1 of 2']);
    const meta = r.meta as unknown as SaeFeaturesMeta;
    expect(meta).toMatchObject({
      saeCell: 's1',
      saeId: 's1#1',
      hook: 'blocks.1.hook_resid_post',
      maxWindows: 3,
    });
    expect(meta.summary.silent).toBe(1);
    expect(featureRows(tableFromIPC(r.tables.list!))).toEqual(ROWS);
  });

  it('refuses windows or contexts out of range before asking the worker', async () => {
    const seen = { phases: [] as string[] };
    await expect(saeFeaturesKind.run!(context(cell({ maxWindows: 0 }), seen))).rejects.toThrow(
      /^maxWindows: expected an integer in \[1, 256\], got 0/,
    );
    await expect(saeFeaturesKind.run!(context(cell({ topN: 2.5 }), seen))).rejects.toThrow(
      /^topN: expected an integer in \[1, 64\], got 2\.5/,
    );
    expect(seen.phases).toEqual([]);
  });
});

describe('feature list helpers', () => {
  it('reads the rows of a FEATURE_LIST_SCHEMA table', () => {
    expect(featureRows(listTable())).toEqual(ROWS);
  });

  it('sorts by a column either way, ties by feature, without touching the input', () => {
    const ids = (key: Parameters<typeof sortFeatures>[1], desc: boolean) =>
      sortFeatures(ROWS, key, desc).map((r) => r.feature);
    expect(ids('density', true)).toEqual([2, 0, 3, 1]);
    expect(ids('density', false)).toEqual([1, 0, 3, 2]);
    expect(ids('max_activation', true)).toEqual([3, 0, 2, 1]);
    expect(ids('mean_activation', false)).toEqual([1, 3, 0, 2]);
    expect(ROWS.map((r) => r.feature)).toEqual([0, 1, 2, 3]);
    const withNaN = [...ROWS, { ...ROWS[0]!, feature: 9, density: NaN }];
    expect(sortFeatures(withNaN, 'density', true).at(-1)!.feature).toBe(9);
    expect(sortFeatures(withNaN, 'density', false).at(-1)!.feature).toBe(9);
  });

  it('takes a sort key from a param, density otherwise', () => {
    expect(sortKeyOf('max_activation')).toBe('max_activation');
    expect(sortKeyOf('toString')).toBe('density');
    expect(sortKeyOf(undefined)).toBe('density');
  });

  it('pages rows, clamping the page', () => {
    const rows = Array.from({ length: 120 }, (_, i) => i);
    expect(pageOf(rows, 0)).toMatchObject({ page: 0, pages: 3 });
    expect(pageOf(rows, 2).rows).toEqual(rows.slice(100));
    expect(pageOf(rows, 9).page).toBe(2);
    expect(pageOf(rows, -1).rows[0]).toBe(0);
    expect(pageOf([], 0)).toEqual({ rows: [], page: 0, pages: 1 });
  });

  it('formats densities and activations', () => {
    expect(formatDensity(0)).toBe('0%');
    expect(formatDensity(1)).toBe('100.0%');
    expect(formatDensity(0.1234)).toBe('12.3%');
    expect(formatDensity(0.000482)).toBe('0.048%');
    expect(formatDensity(0.005)).toBe('0.5%');
    expect(formatDensity(1e-9)).toBe('<0.0001%');
    expect(formatDensity(NaN)).toBe('—');
    expect(formatActivation(0)).toBe('0');
    expect(formatActivation(3.14159)).toBe('3.14');
    expect(formatActivation(12345)).toBe('1.23e+4');
    expect(formatActivation(NaN)).toBe('—');
  });

  it('draws density bars on a log scale from one token to all of them', () => {
    expect(densityBar(0, 1e-3)).toBe(0);
    expect(densityBar(1, 1e-3)).toBe(1);
    expect(densityBar(0.1, 1e-3)).toBeCloseTo(2 / 3);
    expect(densityBar(1e-3, 1e-3)).toBeGreaterThan(0);
    expect(densityBar(0.01, 1e-3)).toBeLessThan(densityBar(0.1, 1e-3));
  });

  it('shades tokens by activation relative to the strongest', () => {
    expect(activationShade(1, 4)).toBe(0.25);
    expect(activationShade(8, 4)).toBe(1);
    expect(activationShade(1, 0)).toBe(0);
    expect(activationShade(NaN, 4)).toBe(0);
  });

  it('makes the pre-binned histogram table and refuses mismatched edges', () => {
    const t = histogramTable([-1, 0, 1], [3, 4]);
    expect(t.numRows).toBe(2);
    expect(Array.from(t.getChild('x0')!.toArray() as Float64Array)).toEqual([-1, 0]);
    expect(Array.from(t.getChild('x1')!.toArray() as Float64Array)).toEqual([0, 1]);
    expect(Array.from(t.getChild('count')!.toArray() as Float64Array)).toEqual([3, 4]);
    expect(() => histogramTable([0, 1], [1, 2])).toThrow(RangeError);
  });

  it('splits baseline and steered text where they diverge, at a word', () => {
    expect(splitCommon('Once upon a time a cat', 'Once upon a time the dog')).toEqual({
      common: 'Once upon a time ',
      baseline: 'a cat',
      steered: 'the dog',
    });
    expect(splitCommon('Once upon a dog', 'Once upon a day')).toEqual({
      common: 'Once upon a ',
      baseline: 'dog',
      steered: 'day',
    });
    expect(splitCommon('same', 'same')).toEqual({ common: 'same', baseline: '', steered: '' });
    expect(splitCommon('abc', 'abd')).toEqual({ common: '', baseline: 'abc', steered: 'abd' });
    expect(splitCommon('It was\nthe cat', 'It was\nthen')).toEqual({
      common: 'It was\n',
      baseline: 'the cat',
      steered: 'then',
    });
  });

  it('reads typed feature numbers within the SAE', () => {
    expect(featureIndex('12', 16)).toBe(12);
    expect(featureIndex(' #3 ', 16)).toBe(3);
    expect(featureIndex(15, 16)).toBe(15);
    expect(featureIndex('16', 16)).toBeUndefined();
    expect(featureIndex('', 16)).toBeUndefined();
    expect(featureIndex('1.5', 16)).toBeUndefined();
    expect(featureIndex(-1, 16)).toBeUndefined();
  });
});
