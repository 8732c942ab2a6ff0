/**
 * The one job shape of the worker boundary (workers/job.ts): tables leave as IPC bytes (absent
 * ones left out), progress reaches the callback before the answer, a job id runs once at a time,
 * `cancel` rejects with an AbortError, and the model lookup names what is missing.
 */
import { describe, expect, it } from 'vitest';
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import { JobRunner, type JobContext } from '../../workers/job';

type Ctx<P = never> = JobContext<P, string>;

function runner(): JobRunner<string> {
  return new JobRunner((key) => {
    if (key !== 'm') throw new Error(`no model loaded under '${key}'`);
    return 'the model';
  });
}

describe('JobRunner', () => {
  it('answers the summary and each present table as IPC bytes, after every progress call', async () => {
    const jobs = runner();
    const job = jobs.define(async (request: { n: number }, ctx: Ctx<number>) => {
      for (let i = 0; i < request.n; i++) ctx.onProgress(i);
      const curve: Table | undefined = undefined;
      return { summary: { model: ctx.model() }, tables: { xs: tableFromArrays({ x: [1, 2, 3] }), curve } };
    });
    const seen: number[] = [];
    const r = await job({ id: 1, request: { n: 3 }, model: 'm' }, async (p) => {
      await new Promise((ok) => setTimeout(ok, 5));
      seen.push(p);
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(r.summary).toEqual({ model: 'the model' });
    expect(Object.keys(r.tables)).toEqual(['xs']);
    expect(tableFromIPC(r.tables.xs).getChild('x')!.toArray()).toEqual(new Float64Array([1, 2, 3]));
    expect(jobs.size).toBe(0);
  });

  it('refuses a running id, cancels with an AbortError and names a missing model', async () => {
    const jobs = runner();
    let started!: () => void;
    const running = new Promise<void>((ok) => (started = ok));
    const wait = jobs.define(async (_: null, ctx: Ctx) => {
      started();
      await new Promise((_ok, fail) => ctx.signal.addEventListener('abort', () => fail(ctx.signal.reason)));
      return { summary: null };
    });
    const first = wait({ id: 7, request: null });
    await running;
    await expect(wait({ id: 7, request: null })).rejects.toThrow('job 7 is already running');
    expect(jobs.size).toBe(1);
    jobs.cancel(7);
    await expect(first).rejects.toMatchObject({ name: 'AbortError', message: 'cancelled' });
    expect(jobs.size).toBe(0);
    const needsModel = jobs.define(async (_: null, ctx: Ctx) => ({ summary: ctx.model() }));
    await expect(needsModel({ id: 8, request: null, model: 'x' })).rejects.toThrow(
      "no model loaded under 'x'",
    );
    await expect(needsModel({ id: 9, request: null })).rejects.toThrow("no model loaded under 'default'");
  });
});
