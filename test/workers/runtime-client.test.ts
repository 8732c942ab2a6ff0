/**
 * The runtime client and worker API end to end in Node: the real API object is exposed with
 * comlink on one end of a MessageChannel (standing in for the Web Worker) with the CPU backend,
 * and the real client talks to the other end. Covers IPC tables, error classes across the
 * boundary, progress and token callbacks, cancellation, and device-loss recovery.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expose } from 'comlink';
import { readFileSync } from 'node:fs';
import { createCpuBackend } from '../../kernels/index';
import { DeviceLostError, WebGpuUnavailableError, type Backend } from '../../kernels/backend';
import { InputError, ModelFormatError, TextError } from '../../runtime/errors';
import { NEXT_TOKEN_COLUMNS, TOKEN_LOSS_COLUMNS } from '../../runtime/tables';
import { readTensorTable } from '../../runtime/tensor-table';
import { createRuntimeApi } from '../../workers/runtime-api';
import {
  createRuntimeClient,
  DEVICE_LOST_RELOADED,
  type RuntimeClient,
  type WorkerLike,
} from '../../workers/runtime-client';
import type { LoadRequest } from '../../workers/runtime-types';
import { readShared, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';
import { sharedPath } from '../helpers/shared-paths';

const GREEDY_START = 'Once upon a time, there was a little girl named Lily';

function storiesRequest(): LoadRequest {
  return {
    files: [
      { name: 'stories260K.bin', bytes: readShared(STORIES260K) },
      { name: 'tok512.bin', bytes: readShared(TOK512) },
    ],
  };
}

/** A "worker" made of a MessageChannel whose far end exposes `api`. */
function channelWorker(api: object): WorkerLike & { closed: boolean } {
  const { port1, port2 } = new MessageChannel();
  expose(api, port2 as never);
  const w = port1 as unknown as WorkerLike & { closed: boolean };
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
    const loaded = await client.load(storiesRequest());
    expect(loaded.shape).toMatchObject({
      dim: 64,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
    });
    expect(loaded.modelName).toBe('stories260K.bin');

    const top = await client.nextToken('Once upon a time', { topK: 10 });
    expect(top.numRows).toBe(10);
    const probs = Array.from(top.getChild(NEXT_TOKEN_COLUMNS.probability)!.toArray() as Float32Array);
    for (let i = 1; i < probs.length; i++) expect(probs[i]!).toBeLessThanOrEqual(probs[i - 1]!);
    expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    expect(top.getChild(NEXT_TOKEN_COLUMNS.token)!.get(0)).toBe(',');

    const strip = await client.tokenLoss('Once upon a time');
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
    const loss = await client.loss(text, { onProgress: (p) => progress.push(p), fileName: 'four.txt' });
    expect(loss.documents).toBe(4);
    expect(loss.loss).toBeGreaterThan(0.5);
    expect(loss.loss).toBeLessThan(3);
    expect(progress[0]).toEqual({ done: 0, total: expect.any(Number) });
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);

    const pieces: string[] = [];
    const gen = await client.generate(
      { prompt: 'Once upon a time', steps: 30, temperature: 0, seed: 42 },
      { onToken: (t) => pieces.push(t.text) },
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
    const r = await client.forward('Once upon a time', {
      capture: ['blocks.2.hook_resid_post', 'blocks.0.attn.hook_pattern'],
    });
    const logits = readTensorTable(r.logits);
    const T = logits.shape[0]!;
    expect(logits.shape).toEqual([T, 512]);
    expect(T).toBeGreaterThan(2);
    const resid = readTensorTable(r.activations['blocks.2.hook_resid_post']!);
    expect(resid.shape).toEqual([T, 64]);
    const pattern = readTensorTable(r.activations['blocks.0.attn.hook_pattern']!);
    expect(pattern.shape).toEqual([8, T, T]);
    // Every query row of every head is a distribution over the causal keys.
    for (let row = 0; row < 8 * T; row++) {
      const sum = pattern.data.subarray(row * T, row * T + T).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    // The logits agree with the next-token table's top logit at the last position.
    const top = await client.nextToken('Once upon a time', { topK: 1 });
    const last = logits.data.subarray((T - 1) * 512, T * 512);
    expect(Math.max(...last)).toBeCloseTo(top.getChild(NEXT_TOKEN_COLUMNS.logit)!.get(0)!, 4);
    await expect(client.forward('x', { capture: ['blocks.9.hook_nope'] })).rejects.toThrow(
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
    await expect(client.nextToken('x')).rejects.toThrow(/no model loaded/);
    await client.load(storiesRequest());
    await expect(client.nextToken('x', { topK: 0 })).rejects.toBeInstanceOf(RangeError);
    const long = await client.nextToken('the cat sat. '.repeat(200)).catch((e: unknown) => e);
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
        onToken: () => {
          if (++count === 5) controller.abort();
        },
      },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(count).toBeLessThan(100);
    const top = await client.nextToken('Once upon a time', { topK: 3 });
    expect(top.numRows).toBe(3);
    // An already-aborted signal never starts a job.
    await expect(client.tokenLoss('x', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('recovers from a lost device: re-creates the backend, reloads the model, says so', async () => {
    let inits = 0;
    let loseNext = false;
    const { client } = cpuClient({
      createBackend: async () => {
        inits++;
        const cpu = createCpuBackend();
        const backend: Backend = Object.create(cpu);
        backend.read = (t) => {
          if (loseNext) {
            loseNext = false;
            return Promise.reject(new DeviceLostError('unknown', 'The GPU device was lost (test).'));
          }
          return cpu.read(t);
        };
        return backend;
      },
    });
    await client.init('webgpu');
    await client.load(storiesRequest());
    loseNext = true;
    const err = await client.nextToken('Once upon a time').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect((err as Error).message).toBe(DEVICE_LOST_RELOADED);
    expect(inits).toBe(2);
    const top = await client.nextToken('Once upon a time');
    expect(top.getChild(NEXT_TOKEN_COLUMNS.token)!.get(0)).toBe(',');
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
    await expect(client.tokenLoss('x')).rejects.toThrow('fresh worker answered');
    expect(spawned.length).toBe(2);
    expect(spawned[0]!.closed).toBe(true);
    expect(calls).toEqual(['init cpu', 'load', 'cancel', 'init cpu', 'load']);
  });

  it('keeps several models by key, runs each, and unloads one without touching the other', async () => {
    const { client } = cpuClient();
    await client.init('cpu');
    const a = await client.load({ ...storiesRequest(), key: 'a' });
    const b = await client.load({ ...storiesRequest(), key: 'b' });
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
    expect(fromB.next).toEqual(fromA.next);
    expect(fromA.position).toBe(4);
    expect(fromA.truncated).toBe(false);
    await client.unload('a');
    const err = await client.nextToken('Once', { model: 'a' }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/no model loaded under 'a' \(loaded: b\)/);
    expect((await client.nextToken('Once', { model: 'b' })).numRows).toBe(10);
  });
});
