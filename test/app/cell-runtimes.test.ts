import { describe, expect, it } from 'vitest';
import type { CellRuntime } from '../../app/notebook/cell-runtime';
import { collectReportCells } from '../../app/report/report-data';
import { reportResult, withRuntime } from '../../app/state/cell-runtimes';

const PROTO_IDS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

describe('cell-keyed state (ids named after Object.prototype are ordinary ids)', () => {
  it('keeps and removes runtimes under any id, and reads nothing for an id it does not hold', () => {
    let runtimes: ReadonlyMap<string, CellRuntime> = new Map();
    for (const id of PROTO_IDS) runtimes = withRuntime(runtimes, id, { status: 'running' });
    expect([...runtimes.keys()]).toEqual(PROTO_IDS);
    expect(runtimes.get('valueOf')).toBeUndefined();
    const before = runtimes;
    runtimes = withRuntime(runtimes, '__proto__', undefined);
    expect(runtimes.has('__proto__')).toBe(false);
    expect(before.has('__proto__')).toBe(true); // a new snapshot each change
  });

  it('serves a report result by id and key (any key while read-only)', () => {
    const result = { meta: null, tables: {} };
    const cells = new Map([['constructor', { key: 'k', result }]]);
    expect(reportResult(cells, 'constructor', 'k', false)).toBe(result);
    expect(reportResult(cells, 'constructor', 'other', false)).toBeUndefined();
    expect(reportResult(cells, 'constructor', 'other', true)).toBe(result);
    expect(reportResult(cells, 'toString', 'k', true)).toBeUndefined();
  });

  it('collects every done cell for a report, whatever its id', () => {
    const result = { meta: { loss: 1 }, tables: {} };
    const doc = {
      format: 'sparsebook-notebook' as const,
      version: 2 as const,
      title: 't',
      cells: [...PROTO_IDS, 'md'].map((id) => ({
        id,
        kind: id === 'md' ? 'markdown' : 'loss',
        params: {},
        inputs: {},
      })),
    };
    const { cells, results, missing } = collectReportCells(
      doc,
      (id) =>
        id === 'md'
          ? { status: 'idle' }
          : id === 'toString'
            ? { status: 'error' }
            : { status: 'done', result, resultKey: `k-${id}` },
      (kind) => kind === 'loss',
    );
    expect([...cells.keys()]).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(cells.get('__proto__')!.key).toBe('k-__proto__');
    expect([...results.keys()]).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(missing).toEqual(['toString']);
  });
});
