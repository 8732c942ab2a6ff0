/**
 * The scheduler with fake cell kinds: reactivity, order, latest-run-wins, cancellation, errors that
 * stay in their cell, and restoring from a result cache.
 */
import { describe, expect, it } from 'vitest';
import type { CellKind, CellServices } from '../../../app/cells/cell-kind';
import type { CellResult } from '../../../app/notebook/cell-runtime';
import type { CellDoc, NotebookDoc } from '../../../app/notebook/document';
import { Scheduler, type ResultCache } from '../../../app/notebook/scheduler';

/** A "source" kind whose result is its param `n`, and an "add" kind summing its input + `k`. */
function kinds(log: string[], gate?: { wait?: Promise<void> }): Map<string, CellKind> {
  const value = (r: CellResult) => (r.meta as { value: number }).value;
  return new Map<string, CellKind>([
    ['note', { kind: 'note', title: 'Note', description: '', defaults: () => ({}), inputs: [] }],
    [
      'source',
      {
        kind: 'source',
        title: 'Source',
        description: '',
        defaults: () => ({ n: 1 }),
        inputs: [],
        needsLive: true,
        async run({ cell }) {
          log.push(`source:${cell.id}`);
          if (cell.params.n === 'boom') throw new RangeError('n must be a number');
          return { meta: { value: cell.params.n as number }, tables: {} };
        },
      },
    ],
    [
      'add',
      {
        kind: 'add',
        title: 'Add',
        description: '',
        defaults: () => ({ k: 0 }),
        viewParams: ['shown'],
        inputs: [{ role: 'x', label: 'Source', kinds: ['source', 'add'] }],
        async run({ cell, inputs, signal, progress }) {
          log.push(`add:${cell.id}`);
          progress(0.5, 'adding');
          if (gate?.wait) await gate.wait;
          signal.throwIfAborted();
          return { meta: { value: value(inputs.x!.result) + (cell.params.k as number) }, tables: {} };
        },
      },
    ],
  ]);
}

const cell = (
  id: string,
  kind: string,
  params: CellDoc['params'],
  inputs: CellDoc['inputs'] = {},
): CellDoc => ({
  id,
  kind,
  params,
  inputs,
});
const doc = (...cells: CellDoc[]): NotebookDoc => ({
  format: 'sparsebook-notebook',
  version: 2,
  title: 't',
  cells,
});
const services = {} as CellServices;

function setup(gate?: { wait?: Promise<void> }, cache?: ResultCache) {
  const log: string[] = [];
  const statuses: string[] = [];
  const k = kinds(log, gate);
  const s = new Scheduler({
    kindOf: (name) => k.get(name),
    services,
    cache,
    onChange: (id, rt) => statuses.push(`${id}:${rt?.status ?? 'removed'}`),
  });
  const value = (id: string) => (s.runtime(id).result?.meta as { value?: number } | undefined)?.value;
  return { s, log, statuses, value };
}

const base = () =>
  doc(
    cell('a', 'source', { n: 2 }),
    cell('b', 'add', { k: 3 }, { x: 'a' }),
    cell('c', 'add', { k: 10 }, { x: 'b' }),
  );

describe('Scheduler', () => {
  it('runs all cells in order and marks them done', async () => {
    const { s, log, value } = setup();
    s.setDocument(doc(cell('m', 'note', {}), ...base().cells));
    expect(s.runtime('m').status).toBe('done');
    expect(s.runtime('a').status).toBe('idle');
    s.runAll();
    await s.idle();
    expect(log).toEqual(['source:a', 'add:b', 'add:c']);
    expect([value('a'), value('b'), value('c')]).toEqual([2, 5, 15]);
    expect(s.runtime('c')).toMatchObject({ status: 'done', live: true });
  });

  it('an edit re-runs the edited cell and its dependents, not unrelated cells', async () => {
    const { s, log, value } = setup();
    const d = doc(...base().cells, cell('z', 'source', { n: 7 }));
    s.setDocument(d);
    s.runAll();
    await s.idle();
    log.length = 0;
    const edited = doc(cell('a', 'source', { n: 4 }), ...d.cells.slice(1));
    s.setDocument(edited, ['a']);
    expect(s.runtime('b').status).toBe('queued');
    await s.idle();
    expect(log).toEqual(['source:a', 'add:b', 'add:c']);
    expect(value('c')).toBe(17);
    expect(s.runtime('z').status).toBe('done');
  });

  it('editing a view-only param keeps the result and runs nothing', async () => {
    const { s, log } = setup();
    s.setDocument(base());
    s.runAll();
    await s.idle();
    log.length = 0;
    const d = base();
    s.setDocument(doc(d.cells[0]!, cell('b', 'add', { k: 3, shown: 'other' }, { x: 'a' }), d.cells[2]!), [
      'b',
    ]);
    await s.idle();
    expect(log).toEqual([]);
    expect(s.runtime('b').status).toBe('done');
    expect(s.runtime('c').status).toBe('done');
  });

  it('running a cell first runs inputs that have no current result', async () => {
    const { s, log, value } = setup();
    s.setDocument(base());
    s.run('c');
    await s.idle();
    expect(log).toEqual(['source:a', 'add:b', 'add:c']);
    expect(value('c')).toBe(15);
  });

  it('latest run wins: a result computed for an outdated key is dropped', async () => {
    let release!: () => void;
    const gate = { wait: new Promise<void>((r) => (release = r)) as Promise<void> | undefined };
    const { s, value } = setup(gate);
    s.setDocument(base());
    s.run('b');
    await new Promise((r) => setTimeout(r, 0));
    expect(s.runtime('b').status).toBe('running');
    expect(s.runtime('b').phase).toBe('adding');
    // Edit b while it runs: the running call is aborted and the new params run next.
    const d2 = doc(base().cells[0]!, cell('b', 'add', { k: 100 }, { x: 'a' }), base().cells[2]!);
    gate.wait = undefined;
    s.setDocument(d2, ['b']);
    release();
    await s.idle();
    expect(value('b')).toBe(102);
    expect(s.runtime('b').status).toBe('done');
  });

  it('editing a cell whose dependent is running aborts that run and runs the dependent again', async () => {
    let release!: () => void;
    const gate = { wait: new Promise<void>((r) => (release = r)) as Promise<void> | undefined };
    const { s, value, log } = setup(gate);
    s.setDocument(base());
    s.run('b');
    await new Promise((r) => setTimeout(r, 0));
    expect(s.runtime('b').status).toBe('running');
    // The input `a` changes while `b` runs: b's run is outdated; b must run again on the new a
    // (it was neither stale, failed nor done, so it is not left 'running' with nothing queued).
    const d2 = doc(cell('a', 'source', { n: 7 }), base().cells[1]!, base().cells[2]!);
    gate.wait = undefined;
    s.setDocument(d2, ['a']);
    release();
    await s.idle();
    expect(s.runtime('b').status).toBe('done');
    expect(value('b')).toBe(10);
    expect(log.filter((l) => l === 'add:b')).toHaveLength(2);
    // And it can be cancelled or run like any other cell afterwards.
    s.run('b');
    await s.idle();
    expect(s.runtime('b').status).toBe('done');
  });

  it('cancel stops a run and keeps the previous result marked stale', async () => {
    let release!: () => void;
    const gate: { wait?: Promise<void> } = {};
    const { s, value } = setup(gate);
    s.setDocument(base());
    s.runAll();
    await s.idle();
    gate.wait = new Promise<void>((r) => (release = r));
    s.setDocument(doc(base().cells[0]!, cell('b', 'add', { k: 4 }, { x: 'a' }), base().cells[2]!), ['b']);
    await new Promise((r) => setTimeout(r, 0));
    expect(s.runtime('b').status).toBe('running');
    s.cancelAll();
    release();
    await s.idle();
    expect(s.runtime('b')).toMatchObject({ status: 'stale', note: 'cancelled' });
    expect(value('b')).toBe(5);
    expect(s.runtime('c').status).not.toBe('running');
  });

  it('cancelling a cell takes its queued dependents off the queue (they would start it again)', async () => {
    let release!: () => void;
    const gate: { wait?: Promise<void> } = {};
    const { s, log, value } = setup(gate);
    s.setDocument(base());
    s.runAll();
    await s.idle();
    gate.wait = new Promise<void>((r) => (release = r));
    log.length = 0;
    s.setDocument(doc(base().cells[0]!, cell('b', 'add', { k: 4 }, { x: 'a' }), base().cells[2]!), ['b']);
    await new Promise((r) => setTimeout(r, 0));
    expect(s.runtime('b').status).toBe('running');
    expect(s.runtime('c').status).toBe('queued');
    s.cancel('b');
    release();
    await s.idle();
    expect(log).toEqual(['add:b']);
    expect(s.runtime('b')).toMatchObject({ status: 'stale', note: 'cancelled' });
    expect(s.runtime('c')).toMatchObject({ status: 'stale', note: 'cancelled' });
    expect(value('c')).toBe(15);
  });

  it('an error stays in its cell; other cells keep their results; dependents wait', async () => {
    const { s, value } = setup();
    const d = doc(...base().cells, cell('z', 'source', { n: 7 }));
    s.setDocument(d);
    s.runAll();
    await s.idle();
    s.setDocument(doc(cell('a', 'source', { n: 'boom' }), ...d.cells.slice(1)), ['a']);
    await s.idle();
    expect(s.runtime('a')).toMatchObject({ status: 'error', error: { title: 'Invalid setting' } });
    expect(s.runtime('a').error!.message).toMatch(/n must be a number/);
    expect(s.runtime('b')).toMatchObject({ status: 'stale' });
    expect(s.runtime('b').note).toMatch(/waiting for input a \(it failed\)/);
    expect(value('b')).toBe(5);
    expect(value('z')).toBe(7);
  });

  it('a missing input is an error naming what to choose', async () => {
    const { s } = setup();
    s.setDocument(doc(cell('b', 'add', { k: 1 })));
    s.run('b');
    await s.idle();
    expect(s.runtime('b')).toMatchObject({
      status: 'error',
      error: { message: 'choose a source cell for this cell to read' },
    });
  });

  it('an unknown kind is an error in its cell only', () => {
    const { s } = setup();
    s.setDocument(doc(cell('q', 'nope', {}), cell('a', 'source', { n: 1 })));
    expect(s.runtime('q')).toMatchObject({
      status: 'error',
      error: { message: 'no cell kind "nope" in this build' },
    });
    expect(s.runtime('a').status).toBe('idle');
  });

  it('removing a cell drops its runtime state', async () => {
    const { s, statuses } = setup();
    s.setDocument(base());
    s.runAll();
    await s.idle();
    s.setDocument(doc(base().cells[0]!));
    expect(statuses).toContain('c:removed');
    expect(s.runtime('c')).toEqual({ status: 'idle' });
  });

  it('restores results from the cache and re-runs only cells that need live state', async () => {
    const stored = new Map<string, CellResult>();
    const cache: ResultCache = {
      load: async (id, key) => stored.get(`${id}/${key}`),
      save: async (id, key, r) => void stored.set(`${id}/${key}`, r),
    };
    const first = setup(undefined, cache);
    first.s.setDocument(base());
    first.s.runAll();
    await first.s.idle();
    await new Promise((r) => setTimeout(r, 0));
    expect(stored.size).toBe(3);

    const second = setup(undefined, cache);
    second.s.setDocument(base());
    await second.s.restore();
    expect(second.s.runtime('c')).toMatchObject({ status: 'done', note: 'restored' });
    await second.s.idle();
    // The source (needsLive) ran again; the adds kept their cached results.
    expect(second.log).toEqual(['source:a']);
    expect(second.value('c')).toBe(15);
  });

  it('reports status transitions in order', async () => {
    const { s, statuses } = setup();
    s.setDocument(doc(cell('a', 'source', { n: 1 })));
    s.run('a');
    await s.idle();
    const a = statuses.filter((x) => x.startsWith('a:'));
    expect(a).toEqual(['a:queued', 'a:running', 'a:done']);
  });
});

describe('Scheduler: long runs (partial results, pause, restore)', () => {
  /** A pausable "train" kind: `steps` steps, each reporting the curve so far and awaiting the gate. */
  function trainer(log: string[], stepGate: () => Promise<void>) {
    const kind: CellKind = {
      kind: 'train',
      title: 'Train',
      description: '',
      defaults: () => ({ steps: 3 }),
      inputs: [],
      needsLive: true,
      pausable: true,
      async run({ cell, signal, partial, waitIfPaused, restored }) {
        if (restored) {
          log.push('rebuilt');
          return restored;
        }
        const curve: number[] = [];
        for (let i = 0; i < (cell.params.steps as number); i++) {
          await waitIfPaused();
          signal.throwIfAborted();
          await stepGate();
          curve.push(i);
          log.push(`step ${i}`);
          partial({ curve });
        }
        return { meta: { curve }, tables: {} };
      },
    };
    return kind;
  }
  const tick = () => new Promise((r) => setTimeout(r, 0));

  function make(cache?: ResultCache) {
    const log: string[] = [];
    const gates: (() => void)[] = [];
    const stepGate = () => new Promise<void>((r) => gates.push(r));
    const k = trainer(log, stepGate);
    const s = new Scheduler({
      kindOf: (n) => (n === 'train' ? k : undefined),
      services,
      cache,
      onChange: () => {},
    });
    s.setDocument(doc(cell('t', 'train', { steps: 3 })));
    const step = async () => {
      for (let i = 0; i < 20 && gates.length === 0; i++) await tick();
      gates.shift()?.();
      await tick();
    };
    return { s, log, step, gates };
  }

  it('shows the partial result while running and drops it when done', async () => {
    const { s, step } = make();
    s.run('t');
    await step();
    expect(s.runtime('t')).toMatchObject({ status: 'running', partial: { curve: [0] } });
    await step();
    expect(s.runtime('t').partial).toEqual({ curve: [0, 1] });
    await step();
    await s.idle();
    expect(s.runtime('t').status).toBe('done');
    expect(s.runtime('t').partial).toBeUndefined();
    expect(s.runtime('t').result?.meta).toEqual({ curve: [0, 1, 2] });
  });

  it('pause holds the run at its next checkpoint; resume goes on', async () => {
    const { s, step, log, gates } = make();
    s.run('t');
    await step();
    // Step 1 is already under way: pausing lets it finish, then holds the run before step 2.
    s.pause('t');
    expect(s.runtime('t').paused).toBe(true);
    await step();
    await tick();
    await tick();
    expect(gates).toHaveLength(0);
    expect(log).toEqual(['step 0', 'step 1']);
    expect(s.runtime('t').status).toBe('running');
    s.resume('t');
    expect(s.runtime('t').paused).toBe(false);
    await step();
    await s.idle();
    expect(log).toEqual(['step 0', 'step 1', 'step 2']);
  });

  it('cancelling a paused run stops it (no resume needed)', async () => {
    const { s, step, log } = make();
    s.run('t');
    await step();
    s.pause('t');
    await step();
    s.cancel('t');
    await s.idle();
    expect(log).toEqual(['step 0', 'step 1']);
    expect(s.runtime('t')).toMatchObject({ status: 'idle', note: 'cancelled' });
    expect(s.runtime('t').paused).toBeUndefined();
  });

  it('after a reload a live-state kind rebuilds from its restored result instead of recomputing', async () => {
    const stored = new Map<string, CellResult>();
    const cache: ResultCache = {
      load: async (id, key) => stored.get(`${id}/${key}`),
      save: async (id, key, r) => void stored.set(`${id}/${key}`, r),
    };
    const first = make(cache);
    first.s.run('t');
    for (let i = 0; i < 3; i++) await first.step();
    await first.s.idle();
    await tick();
    const second = make(cache);
    await second.s.restore();
    await second.s.idle();
    expect(second.log).toEqual(['rebuilt']);
    expect(second.s.runtime('t')).toMatchObject({
      status: 'done',
      live: true,
      result: { meta: { curve: [0, 1, 2] } },
    });
  });
});
