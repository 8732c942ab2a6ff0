/**
 * The runtime client and worker API end to end in Node: the real API object is exposed with
 * comlink on one end of a MessageChannel (standing in for the Web Worker) with the CPU backend,
 * and the real client talks to the other end. Covers IPC tables, error classes across the
 * boundary, progress and token callbacks, cancellation, device-loss recovery (the interrupted job
 * re-runs once) and worker crashes (calls fail at once, a fresh worker takes over, bounded).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expose } from 'comlink';
import { readFileSync } from 'node:fs';
import { createCpuBackend } from '../../kernels/index';
import { DeviceLostError, WebGpuUnavailableError, type Backend } from '../../kernels/backend';
import { GpuLimitError, GpuValidationError } from '../../kernels/gpu-errors';
import { describeError } from '../../app/state/errors';
import { InputError, ModelFormatError, TextError } from '../../runtime/errors';
import { NEXT_TOKEN_COLUMNS, TOKEN_LOSS_COLUMNS, type TokenLossTypes } from '../../runtime/tables';
import { readTensorTable } from '../../runtime/tensor-table';
import { createRuntimeApi } from '../../workers/runtime-api';
import {
  createRuntimeClient,
  DEVICE_LOST_AGAIN,
  readTable,
  WorkerCrashedError,
  type RuntimeClient,
  type WorkerLike,
} from '../../workers/runtime-client';
import type { LoadRequest } from '../../workers/runtime-types';
import { readShared, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';
import { sharedPath } from '../helpers/shared-paths';
import { nextTokens } from '../helpers/next-tokens';

const GREEDY_START = 'Once upon a time, there was a little girl named Lily';

function storiesRequest(): LoadRequest {
  return {
    files: [
      { name: 'stories260K.bin', bytes: readShared(STORIES260K) },
      { name: 'tok512.bin', bytes: readShared(TOK512) },
    ],
  };
}

/** A "worker" made of a MessageChannel whose far end exposes `api` (tests dispatch its events). */
type ChannelWorker = WorkerLike & { closed: boolean; dispatchEvent(event: Event): boolean };

function channelWorker(api: object): ChannelWorker {
  const { port1, port2 } = new MessageChannel();
  expose(api, port2 as never);
  const w = port1 as unknown as ChannelWorker;
  w.closed = false;
  w.terminate = () => {
    w.closed = true;
    port1.close();
    port2.close();
  };
  return w;
}

let client: RuntimeClient | undefined;
afterEach(() => {
  client?.dispose();
  client = undefined;
});

function cpuClient(options: Parameters<typeof createRuntimeApi>[0] = {}) {
  const spawned: ReturnType<typeof channelWorker>[] = [];
  client = createRuntimeClient({
    createWorker: () => {
      const w = channelWorker(createRuntimeApi(options));
      spawned.push(w);
      return w;
    },
  });
  return { client, spawned };
}

describe('runtime client ↔ worker API (CPU backend, MessageChannel)', () => {
  it('loads stories260K and answers next-token, token-loss, loss and generate', async () => {
    const { client } = cpuClient();
    const backend = await client.init('cpu');
    expect(backend).toEqual({ kind: 'cpu', description: expect.stringMatching(/CPU/) });
    const { summary: loaded } = await client.load(storiesRequest());
    expect(loaded.shape).toMatchObject({
      dim: 64,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
    });
    expect(loaded.modelName).toBe('stories260K.bin');

    const top = await nextTokens(client, { text: 'Once upon a time', topK: 10 });
    expect(top.numRows).toBe(10);
    const probs = Array.from(top.getChild(NEXT_TOKEN_COLUMNS.probability)!.toArray() as Float32Array);
    for (let i = 1; i < probs.length; i++) expect(probs[i]!).toBeLessThanOrEqual(probs[i - 1]!);
    expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    expect(top.getChild(NEXT_TOKEN_COLUMNS.token)!.get(0)).toBe(',');

    const strip = readTable<TokenLossTypes>(
      (await client.tokenLoss({ text: 'Once upon a time' })).tables.tokens,
    );
    const rows = strip.toArray().map((r) => r.toJSON());
    expect(rows[0]).toMatchObject({ position: 0, token: '<s>', loss: null });
    expect(
      rows
        .slice(1)
        .map((r) => r.token)
        .join(''),
    ).toBe('Once upon a time');
    for (const r of rows.slice(1)) expect(r.loss).toBeGreaterThan(0);
    expect(strip.getChild(TOKEN_LOSS_COLUMNS.loss)!.nullCount).toBe(1);

    const progress: { done: number; total: number }[] = [];
    const text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
      .split('<|endoftext|>')
      .slice(0, 4)
      .join('<|endoftext|>');
    const { summary: loss } = await client.loss(
      { text, fileName: 'four.txt' },
      { onProgress: (p) => progress.push(p) },
    );
    expect(loss.documents).toBe(4);
    expect(loss.loss).toBeGreaterThan(0.5);
    expect(loss.loss).toBeLessThan(3);
    expect(progress[0]).toEqual({ done: 0, total: expect.any(Number) });
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);

    const pieces: string[] = [];
    const { summary: gen } = await client.generate(
      { prompt: 'Once upon a time', steps: 30, temperature: 0, seed: 42 },
      { onProgress: (t) => pieces.push(t.text) },
    );
    expect(gen.text.startsWith(GREEDY_START)).toBe(true);
    expect(gen.tokens).toBe(30);
    expect(gen.stop).toBe('steps');
    // Every token reached the callback before the job resolved (callbacks use their own port).
    expect('Once upon a time' + pieces.join('')).toBe(gen.text);
  });

  it('returns logits and captured activations as tensor tables', async () => {
    const { client } = cpuClient();
    await client.init('cpu');
    await client.load(storiesRequest());
    const { tables } = await client.forward({
      text: 'Once upon a time',
      capture: ['blocks.2.hook_resid_post', 'blocks.0.attn.hook_pattern'],
    });
    const logits = readTensorTable(readTable(tables.logits!));
    const T = logits.shape[0]!;
    expect(logits.shape).toEqual([T, 512]);
    expect(T).toBeGreaterThan(2);
    const resid = readTensorTable(readTable(tables['blocks.2.hook_resid_post']!));
    expect(resid.shape).toEqual([T, 64]);
    const pattern = readTensorTable(readTable(tables['blocks.0.attn.hook_pattern']!));
    expect(pattern.shape).toEqual([8, T, T]);
    // Every query row of every head is a distribution over the causal keys.
    for (let row = 0; row < 8 * T; row++) {
      const sum = pattern.data.subarray(row * T, row * T + T).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    // The logits agree with the next-token table's top logit at the last position.
    const top = await nextTokens(client, { text: 'Once upon a time', topK: 1 });
    const last = logits.data.subarray((T - 1) * 512, T * 512);
    expect(Math.max(...last)).toBeCloseTo(top.getChild(NEXT_TOKEN_COLUMNS.logit)!.get(0)!, 4);
    await expect(client.forward({ text: 'x', capture: ['blocks.9.hook_nope'] })).rejects.toThrow(
      /unknown hook point/,
    );
  });

  it('keeps error classes across the boundary', async () => {
    const { client } = cpuClient();
    // Node 20 has no navigator.gpu: WebGPU must fail loudly, never fall back to the CPU.
    await expect(client.init('webgpu')).rejects.toBeInstanceOf(WebGpuUnavailableError);
    await client.init('cpu');
    const broken = {
      files: [
        { name: 'broken.bin', bytes: new Uint8Array(10).buffer },
        { name: 'tok512.bin', bytes: readShared(TOK512) },
      ],
    };
    const err = await client.load(broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe('broken.bin');
    expect((err as InputError).problem.length).toBeGreaterThan(5);
    expect((err as Error).message).toMatch(/^broken\.bin: /);
    await expect(client.nextToken({ text: 'x' })).rejects.toThrow(/no model loaded/);
    await client.load(storiesRequest());
    await expect(client.nextToken({ text: 'x', topK: 0 })).rejects.toBeInstanceOf(RangeError);
    const long = await client.nextToken({ text: 'the cat sat. '.repeat(200) }).catch((e: unknown) => e);
    expect(long).toBeInstanceOf(TextError);
    expect(long).toMatchObject({ file: 'prompt', problem: expect.stringMatching(/context of 512 tokens/) });
  });

  it('cancels a long generation and stays usable', async () => {
    const { client } = cpuClient();
    await client.init('cpu');
    await client.load(storiesRequest());
    const controller = new AbortController();
    let count = 0;
    const run = client.generate(
      { prompt: 'Once upon a time', steps: 400, temperature: 0.8, seed: 7 },
      {
        signal: controller.signal,
        onProgress: () => {
          if (++count === 5) controller.abort();
        },
      },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(count).toBeLessThan(100);
    const top = await nextTokens(client, { text: 'Once upon a time', topK: 3 });
    expect(top.numRows).toBe(3);
    // An already-aborted signal never starts a job.
    await expect(client.tokenLoss({ text: 'x' }, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  /** A CPU backend whose reads fail with a lost device while `losses` is above zero. */
  function lossyClient() {
    const state = { inits: 0, losses: 0, lossAtRead: 1, reads: 0 };
    const { client, spawned } = cpuClient({
      createBackend: async () => {
        state.inits++;
        const cpu = createCpuBackend();
        const backend: Backend = Object.create(cpu);
        backend.read = (t) => {
          if (state.losses > 0 && ++state.reads >= state.lossAtRead) {
            state.losses--;
            state.reads = 0;
            return Promise.reject(new DeviceLostError('unknown', 'The GPU device was lost (test).'));
          }
          return cpu.read(t);
        };
        return backend;
      },
    });
    return { client, spawned, state };
  }

  it('re-runs a job interrupted by a lost device once, after re-creating the backend and model', async () => {
    const { client, state } = lossyClient();
    await client.init('webgpu');
    await client.load(storiesRequest());
    const expected = await nextTokens(client, { text: 'Once upon a time' });
    state.losses = 1;
    // The job itself succeeds: the loss is recovered from and the job runs again by itself.
    const top = await nextTokens(client, { text: 'Once upon a time' });
    expect(state.inits).toBe(2);
    expect(state.losses).toBe(0);
    expect(top.toArray().map((r) => r.toJSON())).toEqual(expected.toArray().map((r) => r.toJSON()));
  });

  it('fails the job with a message when the device is lost again during its re-run', async () => {
    const { client, state } = lossyClient();
    await client.init('webgpu');
    await client.load(storiesRequest());
    state.losses = 2;
    const err = await nextTokens(client, { text: 'Once upon a time' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect((err as Error).message).toBe(DEVICE_LOST_AGAIN);
    expect(describeError(err)).toMatchObject({ title: 'GPU device lost', message: DEVICE_LOST_AGAIN });
    // Reloaded after each loss: the next job runs on a working backend.
    expect(state.inits).toBe(3);
    const top = await nextTokens(client, { text: 'Once upon a time' });
    expect(top.getChild(NEXT_TOKEN_COLUMNS.token)!.get(0)).toBe(',');
  });

  it('a generation re-run after a device loss streams each token once', async () => {
    const { client, state } = lossyClient();
    await client.init('webgpu');
    await client.load(storiesRequest());
    const request = { prompt: 'Once upon a time', steps: 20, temperature: 0.8, seed: 11 };
    const { summary: clean } = await client.generate(request);
    state.losses = 1;
    state.lossAtRead = 8;
    const pieces: string[] = [];
    const indices: number[] = [];
    const { summary: gen } = await client.generate(request, {
      onProgress: (t) => {
        pieces.push(t.text);
        indices.push(t.index);
      },
    });
    expect(state.inits).toBe(2);
    expect(gen.text).toBe(clean.text);
    expect(indices).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect('Once upon a time' + pieces.join('')).toBe(gen.text);
  });

  it('GPU validation and limit errors reach the client with their class and fields', async () => {
    let fail: Error | undefined;
    const { client } = cpuClient({
      createBackend: async () => {
        const cpu = createCpuBackend();
        const backend: Backend = Object.create(cpu);
        backend.read = (t) => (fail ? Promise.reject(fail) : cpu.read(t));
        return backend;
      },
    });
    await client.init('webgpu');
    await client.load(storiesRequest());
    fail = new GpuValidationError('out-of-memory', 'WebGPU out-of-memory error: test');
    const v = await nextTokens(client, { text: 'Once' }).catch((e: unknown) => e);
    expect(v).toBeInstanceOf(GpuValidationError);
    expect(v).toMatchObject({ filter: 'out-of-memory', message: 'WebGPU out-of-memory error: test' });
    expect(describeError(v)).toMatchObject({
      title: 'GPU error',
      message: 'WebGPU out-of-memory error: test',
    });
    fail = new GpuLimitError('maxBufferSize', 8, 4, 'a tensor needs 8 bytes, over maxBufferSize of 4 bytes');
    const l = await nextTokens(client, { text: 'Once' }).catch((e: unknown) => e);
    expect(l).toBeInstanceOf(GpuLimitError);
    expect(l).toBeInstanceOf(RangeError);
    expect(l).toMatchObject({ limit: 'maxBufferSize', requested: 8, allowed: 4 });
    expect(describeError(l).title).toBe('Too large for this GPU');
    // Not a device loss: nothing is retried or reloaded, and the next job runs normally.
    fail = undefined;
    expect((await nextTokens(client, { text: 'Once' })).numRows).toBe(10);
  });

  it('restarts a worker whose cancelled job does not stop', async () => {
    const spawned: ReturnType<typeof channelWorker>[] = [];
    const calls: string[] = [];
    const stuckApi = {
      init: async (kind: string) => (calls.push(`init ${kind}`), { kind, description: 'fake' }),
      load: async () => (calls.push('load'), {}),
      generate: () => new Promise(() => {}), // never settles, ignores cancel
      tokenLoss: () => Promise.reject(new Error('fresh worker answered')),
      cancel: () => void calls.push('cancel'),
    };
    client = createRuntimeClient({
      cancelGraceMs: 50,
      createWorker: () => {
        const w = channelWorker(stuckApi);
        spawned.push(w);
        return w;
      },
    });
    await client.init('cpu');
    await client.load(storiesRequest());
    const controller = new AbortController();
    const run = client.generate(
      { prompt: '', steps: 5, temperature: 0, seed: 1 },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 10);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    await expect(client.tokenLoss({ text: 'x' })).rejects.toThrow('fresh worker answered');
    expect(spawned.length).toBe(2);
    expect(spawned[0]!.closed).toBe(true);
    expect(calls).toEqual(['init cpu', 'load', 'cancel', 'init cpu', 'load']);
  });

  /** A fake worker API: init/load answer; generate never settles; inspect answers. */
  function crashyApi(calls: string[], opts: { hangInit?: () => boolean } = {}) {
    return {
      init: (kind: string) => {
        calls.push(`init ${kind}`);
        if (opts.hangInit?.()) return new Promise(() => {});
        return Promise.resolve({ kind, description: 'fake' });
      },
      load: async () => (calls.push('load'), { key: 'default' }),
      generate: () => (calls.push('generate'), new Promise(() => {})),
      inspect: async () => (calls.push('inspect'), { answered: true }),
      cancel: () => void calls.push('cancel'),
    };
  }

  const probe = { text: 'x', layer: 0, position: -1, topK: 1 };

  function crashEvent(type: 'error' | 'messageerror', message?: string): Event {
    return Object.assign(
      new Event(type),
      message ? { message, filename: 'runtime.worker.js', lineno: 7 } : {},
    );
  }

  it('fails the running job at once when the worker crashes, and runs the next on a fresh worker', async () => {
    const spawned: ReturnType<typeof channelWorker>[] = [];
    const calls: string[] = [];
    client = createRuntimeClient({
      createWorker: () => {
        const w = channelWorker(crashyApi(calls));
        spawned.push(w);
        return w;
      },
    });
    await client.init('cpu');
    await client.load(storiesRequest());
    const run = client.generate({ prompt: '', steps: 5, temperature: 0, seed: 1 });
    const queued = client.inspect(probe);
    await new Promise((r) => setTimeout(r, 20));
    spawned[0]!.dispatchEvent(crashEvent('error', 'Uncaught RangeError: Array buffer allocation failed'));
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect((err as Error).message).toMatch(
      /^The runtime worker crashed \(it reported an error: Uncaught RangeError: Array buffer allocation failed at runtime\.worker\.js:7\)/,
    );
    expect(describeError(err).title).toBe('Runtime worker crashed');
    expect(spawned[0]!.closed).toBe(true);
    // The queued job was never sent to the dead worker: it runs on a fresh one, model reloaded first.
    expect(await queued).toEqual({ answered: true });
    expect(spawned.length).toBe(2);
    expect(calls).toEqual(['init cpu', 'load', 'generate', 'init cpu', 'load', 'inspect']);
    // A worker that dies while idle is replaced lazily too.
    spawned[1]!.dispatchEvent(crashEvent('error'));
    expect(spawned[1]!.closed).toBe(true);
    await client.inspect(probe);
    expect(spawned.length).toBe(3);
    expect(calls.slice(-3)).toEqual(['init cpu', 'load', 'inspect']);
  });

  it('treats a messageerror as a crash of the worker', async () => {
    const spawned: ReturnType<typeof channelWorker>[] = [];
    const calls: string[] = [];
    client = createRuntimeClient({
      createWorker: () => {
        const w = channelWorker(crashyApi(calls));
        spawned.push(w);
        return w;
      },
    });
    await client.init('cpu');
    const run = client.generate({ prompt: '', steps: 5, temperature: 0, seed: 1 });
    await new Promise((r) => setTimeout(r, 20));
    spawned[0]!.dispatchEvent(crashEvent('messageerror'));
    await expect(run).rejects.toThrow(/could not be deserialized \(messageerror\)/);
    await client.inspect(probe);
    expect(spawned.length).toBe(2);
  });

  it('a restart that never settles fails its job after the timeout and does not stall the queue', async () => {
    const spawned: ReturnType<typeof channelWorker>[] = [];
    const calls: string[] = [];
    // The second worker never answers init; the third works.
    client = createRuntimeClient({
      restartTimeoutMs: 80,
      createWorker: () => {
        const n = spawned.length;
        const w = channelWorker(crashyApi(calls, { hangInit: () => n === 1 }));
        spawned.push(w);
        return w;
      },
    });
    await client.init('cpu');
    await client.load(storiesRequest());
    const run = client.generate({ prompt: '', steps: 5, temperature: 0, seed: 1 });
    await new Promise((r) => setTimeout(r, 20));
    spawned[0]!.dispatchEvent(crashEvent('error', 'boom'));
    await expect(run).rejects.toBeInstanceOf(WorkerCrashedError);
    const t0 = performance.now();
    const stuck = await client.inspect(probe).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(stuck).toBeInstanceOf(WorkerCrashedError);
    expect((stuck as Error).message).toMatch(
      /did not answer: restarting the backend and reloading the model/,
    );
    expect(spawned[1]!.closed).toBe(true);
    expect(await client.inspect(probe)).toEqual({ answered: true });
    expect(spawned.length).toBe(3);
    expect(calls).toEqual(['init cpu', 'load', 'generate', 'init cpu', 'init cpu', 'load', 'inspect']);
  });

  it('a cancelled job that never stops, then a restart that never settles: the queue still moves', async () => {
    const spawned: ReturnType<typeof channelWorker>[] = [];
    const calls: string[] = [];
    client = createRuntimeClient({
      cancelGraceMs: 30,
      restartTimeoutMs: 80,
      createWorker: () => {
        const n = spawned.length;
        const w = channelWorker(crashyApi(calls, { hangInit: () => n === 1 }));
        spawned.push(w);
        return w;
      },
    });
    await client.init('cpu');
    const controller = new AbortController();
    const run = client.generate(
      { prompt: '', steps: 5, temperature: 0, seed: 1 },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 10);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    await expect(client.inspect(probe)).rejects.toBeInstanceOf(WorkerCrashedError);
    expect(await client.inspect(probe)).toEqual({ answered: true });
    expect(spawned.map((w) => w.closed)).toEqual([true, true, false]);
  });

  it('keeps several models by key, runs each, and unloads one without touching the other', async () => {
    const { client } = cpuClient();
    await client.init('cpu');
    const { summary: a } = await client.load({ ...storiesRequest(), key: 'a' });
    const { summary: b } = await client.load({ ...storiesRequest(), key: 'b' });
    expect([a.key, b.key]).toEqual(['a', 'b']);
    expect(a.modelName).toBe('stories260K.bin');
    expect(a.tokenizerName).toBe('tok512.bin');
    const fromA = await client.inspect(
      { text: 'Once upon a time', layer: 1, position: -1, topK: 5 },
      { model: 'a' },
    );
    const fromB = await client.inspect(
      { text: 'Once upon a time', layer: 1, position: -1, topK: 5 },
      { model: 'b' },
    );
    expect(fromB.tables.next).toEqual(fromA.tables.next);
    expect(fromA.summary.position).toBe(4);
    expect(fromA.summary.truncated).toBe(false);
    await client.unload('a');
    const err = await nextTokens(client, { text: 'Once' }, { model: 'a' }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/no model loaded under 'a' \(loaded: b\)/);
    expect((await nextTokens(client, { text: 'Once' }, { model: 'b' })).numRows).toBe(10);
  });
});
