/**
 * Report mode's read-only params (app/state/param-lock.ts, used by NotebookState.setParams): in a
 * report every param that feeds the computation is locked, view params stay free; live locks none.
 */
import { describe, expect, it } from 'vitest';
import { attentionProbesKind } from '../../app/cells/attention-probes/attention-probes-kind';
import { CELL_KINDS } from '../../app/cells/kinds';
import { markdownKind } from '../../app/cells/markdown/markdown-kind';
import { pruningSweepKind } from '../../app/cells/pruning-sweep/pruning-sweep-kind';
import { isParamLocked, lockedKeys } from '../../app/state/param-lock';

describe('isParamLocked', () => {
  it('locks nothing in a live notebook', () => {
    expect(isParamLocked('live', attentionProbesKind, 'maxWindows')).toBe(false);
    expect(isParamLocked('live', undefined, 'anything')).toBe(false);
  });

  it('locks compute params and frees view params in a report', () => {
    expect(isParamLocked('report', attentionProbesKind, 'maxWindows')).toBe(true);
    for (const view of ['metric', 'layer', 'head']) {
      expect(isParamLocked('report', attentionProbesKind, view)).toBe(false);
    }
    expect(isParamLocked('report', pruningSweepKind, 'sparsities')).toBe(true);
    expect(isParamLocked('report', pruningSweepKind, 'point')).toBe(false);
  });

  it('locks every param of a kind without view params, or of an unknown kind, in a report', () => {
    expect(isParamLocked('report', markdownKind, 'source')).toBe(true);
    expect(isParamLocked('report', undefined, 'metric')).toBe(true);
  });
});

describe('lockedKeys', () => {
  it('names the locked keys of a patch, in patch order', () => {
    const patch = { metric: 'entropy', maxWindows: 4, head: 2, extra: 1 };
    expect(lockedKeys('report', attentionProbesKind, patch)).toEqual(['maxWindows', 'extra']);
    expect(lockedKeys('live', attentionProbesKind, patch)).toEqual([]);
  });

  it('lets a patch of view params only through', () => {
    expect(lockedKeys('report', pruningSweepKind, { xAxis: 'sparsity', yAxis: 'loss', point: 3 })).toEqual(
      [],
    );
  });

  it('locks a patch that mixes a view param with a compute param', () => {
    expect(lockedKeys('report', pruningSweepKind, { point: 3, allocation: 'uniform' })).toEqual([
      'allocation',
    ]);
  });
});

describe('view params of every kind', () => {
  // A view param that is not a real param would free a name no control sets, and hide a typo.
  it.each(CELL_KINDS.filter((k) => k.viewParams?.length).map((k) => [k.kind, k] as const))(
    '%s: each view param is one of its params and stays free in a report',
    (_name, kind) => {
      const params = Object.keys(kind.defaults());
      for (const p of kind.viewParams ?? []) {
        expect(params).toContain(p);
        expect(isParamLocked('report', kind, p)).toBe(false);
      }
      // Something is always left to lock: a report never lets a cell re-run.
      expect(params.some((p) => isParamLocked('report', kind, p))).toBe(true);
    },
  );
});
