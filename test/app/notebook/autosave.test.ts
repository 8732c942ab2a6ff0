import { describe, expect, it, vi } from 'vitest';
import { createAutosave, type Timers } from '../../../app/notebook/autosave';

/** Manual timers: `tick(ms)` runs whatever falls due, in order. */
function manualTimers() {
  let now = 0;
  let nextId = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    set: (fn, ms) => {
      due.set(++nextId, { at: now + ms, fn });
      return nextId;
    },
    clear: (h) => void due.delete(h as number),
  };
  const tick = async (ms: number) => {
    const end = now + ms;
    for (;;) {
      const next = [...due.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      due.delete(next[0]);
      now = next[1].at;
      next[1].fn();
      await flushMicrotasks();
    }
    now = end;
    await flushMicrotasks();
  };
  return {
    timers,
    tick,
    get active() {
      return due.size;
    },
  };
}

const flushMicrotasks = () => new Promise<void>((r) => setImmediate(r));

describe('createAutosave', () => {
  it('saves the latest value once edits pause', async () => {
    const t = manualTimers();
    const save = vi.fn(async (_: string) => {});
    const a = createAutosave(save, { timers: t.timers, delayMs: 500 });
    a.schedule('a');
    await t.tick(300);
    a.schedule('ab');
    await t.tick(300);
    a.schedule('abc');
    expect(save).not.toHaveBeenCalled();
    expect(a.pending).toBe(true);
    await t.tick(500);
    expect(save.mock.calls).toEqual([['abc']]);
    expect(a.pending).toBe(false);
    expect(t.active).toBe(0);
  });

  it('saves at least every maxWaitMs while changes keep coming', async () => {
    const t = manualTimers();
    const save = vi.fn(async (_: number) => {});
    const a = createAutosave(save, { timers: t.timers, delayMs: 500, maxWaitMs: 2000 });
    for (let i = 1; i <= 10; i++) {
      a.schedule(i);
      await t.tick(300);
    }
    expect(save.mock.calls[0]).toEqual([7]); // 7 × 300 ms passes the 2 s deadline
    await t.tick(1000);
    expect(save.mock.calls.at(-1)).toEqual([10]);
  });

  it('flush() saves now and resolves when written', async () => {
    const t = manualTimers();
    const saved: string[] = [];
    const a = createAutosave(async (v: string) => void saved.push(v), { timers: t.timers });
    a.schedule('x');
    await a.flush();
    expect(saved).toEqual(['x']);
    expect(t.active).toBe(0);
    await a.flush(); // nothing pending: resolves without saving again
    expect(saved).toEqual(['x']);
  });

  it('takes the newest value when a write starts', async () => {
    const saved: string[] = [];
    const a = createAutosave(async (v: string) => void saved.push(v), { timers: manualTimers().timers });
    a.schedule('a');
    const first = a.flush();
    a.schedule('b'); // before the write has begun: it writes 'b', which contains every change
    await first;
    await a.flush();
    expect(saved).toEqual(['b']);
  });

  it('never overlaps writes and never lets an older value land last', async () => {
    const t = manualTimers();
    const order: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const save = async (v: string) => {
      order.push(`start ${v}`);
      if (v === 'a') await slow;
      order.push(`end ${v}`);
    };
    const a = createAutosave(save, { timers: t.timers });
    a.schedule('a');
    const first = a.flush();
    await flushMicrotasks();
    expect(order).toEqual(['start a']);
    a.schedule('b');
    a.schedule('c'); // supersedes 'b', which is never written
    const second = a.flush();
    await flushMicrotasks();
    expect(order).toEqual(['start a']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['start a', 'end a', 'start c', 'end c']);
  });

  it('keeps a failed value pending, reports it, and retries on flush', async () => {
    const t = manualTimers();
    const onError = vi.fn();
    let fail = true;
    const saved: string[] = [];
    const a = createAutosave(
      async (v: string) => {
        if (fail) throw new Error('quota');
        saved.push(v);
      },
      { timers: t.timers, onError },
    );
    a.schedule('x');
    await t.tick(1000);
    expect(onError).toHaveBeenCalledWith(new Error('quota'));
    expect(a.pending).toBe(true);
    await expect(a.flush()).rejects.toThrow('quota');
    fail = false;
    await a.flush();
    expect(saved).toEqual(['x']);
    expect(a.pending).toBe(false);
  });

  it('a newer value wins over a failed older one', async () => {
    const t = manualTimers();
    const saved: string[] = [];
    let calls = 0;
    const a = createAutosave(
      async (v: string) => {
        if (calls++ === 0) {
          a.schedule('newer'); // arrives while the first write is failing
          throw new Error('boom');
        }
        saved.push(v);
      },
      { timers: t.timers, onError: () => {} },
    );
    a.schedule('old');
    await a.flush().catch(() => {});
    await a.flush();
    expect(saved).toEqual(['newer']);
  });

  it('cancel() drops the pending value', async () => {
    const t = manualTimers();
    const save = vi.fn(async () => {});
    const onSaved = vi.fn();
    const a = createAutosave(save, { timers: t.timers, onSaved });
    a.schedule(1);
    a.cancel();
    await t.tick(10_000);
    expect(save).not.toHaveBeenCalled();
    expect(onSaved).not.toHaveBeenCalled();
    expect(t.active).toBe(0);
  });

  it('reports each saved value to onSaved', async () => {
    const onSaved = vi.fn();
    const a = createAutosave(async () => {}, { timers: manualTimers().timers, onSaved });
    a.schedule('v');
    await a.flush();
    expect(onSaved).toHaveBeenCalledWith('v');
  });

  describe('flushNow (page hide)', () => {
    it('calls save in the same task, even while an earlier write is still in progress', async () => {
      const t = manualTimers();
      const calls: string[] = [];
      let release!: () => void;
      const slow = new Promise<void>((r) => (release = r));
      const a = createAutosave(
        async (v: string) => {
          calls.push(v);
          if (v === 'a') await slow;
        },
        { timers: t.timers },
      );
      a.schedule('a');
      const first = a.flush();
      await flushMicrotasks();
      expect(calls).toEqual(['a']); // 'a' is being written and does not finish
      a.schedule('b');
      const now = a.flushNow();
      expect(calls).toEqual(['a', 'b']); // synchronously: a pagehide handler gets its write started
      expect(a.pending).toBe(false);
      expect(t.active).toBe(0);
      release();
      await Promise.all([first, now]);
      await a.flush();
      expect(calls).toEqual(['a', 'b']); // nothing written twice, nothing left behind
    });

    it('does nothing when nothing is pending', async () => {
      const save = vi.fn(async () => {});
      const a = createAutosave(save, { timers: manualTimers().timers });
      await a.flushNow();
      expect(save).not.toHaveBeenCalled();
    });

    it('an older write that fails does not bring its value back over a newer one', async () => {
      const saved: string[] = [];
      let failOld!: (e: Error) => void;
      const a = createAutosave(
        (v: string) => {
          if (v === 'old') return new Promise<void>((_, reject) => (failOld = reject));
          saved.push(v);
          return Promise.resolve();
        },
        { timers: manualTimers().timers, onError: () => {} },
      );
      a.schedule('old');
      const old = a.flush().catch(() => 'failed');
      await flushMicrotasks();
      a.schedule('new');
      const now = a.flushNow(); // resolves once every write so far, the failing one too, is done
      expect(saved).toEqual(['new']);
      failOld(new Error('quota'));
      expect(await old).toBe('failed');
      await now;
      expect(a.pending).toBe(false);
      await a.flush();
      expect(saved).toEqual(['new']);
    });

    it('a failed flushNow keeps its value pending for the next flush', async () => {
      let fail = true;
      const saved: string[] = [];
      const a = createAutosave(
        async (v: string) => {
          if (fail) throw new Error('quota');
          saved.push(v);
        },
        { timers: manualTimers().timers },
      );
      a.schedule('x');
      await expect(a.flushNow()).rejects.toThrow('quota');
      expect(a.pending).toBe(true);
      fail = false;
      await a.flush();
      expect(saved).toEqual(['x']);
    });
  });

  it('works with real timers by default', async () => {
    const save = vi.fn(async () => {});
    const a = createAutosave(save, { delayMs: 5 });
    a.schedule(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(save).toHaveBeenCalledWith(1);
  });
});
