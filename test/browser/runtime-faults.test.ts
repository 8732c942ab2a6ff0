/**
 * GPU and worker faults through the real runtime client and a real Web Worker on WebGPU
 * (fixtures/runtime-faults.worker.ts): a device lost mid-job (`device.destroy()`) re-runs the job
 * once on a new device, a second loss fails it with a message, a WebGPU validation error fails the
 * job with GpuValidationError, and a worker that dies fails its job at once and is replaced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { wrap, type Remote } from 'comlink';
import { DeviceLostError } from '../../kernels/backend';
import { GpuValidationError } from '../../kernels/gpu-errors';
import { NEXT_TOKEN_COLUMNS } from '../../runtime/tables';
import {
  createRuntimeClient,
  DEVICE_LOST_AGAIN,
  WorkerCrashedError,
  type RuntimeClient,
} from '../../workers/runtime-client';
import type { LoadRequest } from '../../workers/runtime-types';
import type { FaultHooks } from './fixtures/runtime-faults.worker';
import { fetchShared } from './shared-files';
import { nextTokens } from '../helpers/next-tokens';

let files: LoadRequest['files'] | undefined;
async function storiesRequest(): Promise<LoadRequest> {
  files ??= [
    { name: 'stories260K.bin', bytes: await fetchShared('models/stories260K/stories260K.bin') },
    { name: 'tok512.bin', bytes: await fetchShared('models/stories260K/tok512.bin') },
  ];
  return { files };
}

let client: RuntimeClient | undefined;
afterEach(() => {
  client?.dispose();
  client = undefined;
});

/** The client over real workers, each also wrapped for its test hooks (kept, so never released). */
async function faultClient() {
  const workers: Worker[] = [];
  const hooks: Remote<FaultHooks>[] = [];
  client = createRuntimeClient({
    createWorker: () => {
      const w = new Worker(new URL('./fixtures/runtime-faults.worker.ts', import.meta.url), {
        type: 'module',
      });
      workers.push(w);
      hooks.push(wrap<FaultHooks>(w));
      return w;
    },
  });
  await client.init('webgpu');
  await client.load(await storiesRequest());
  return { client, workers, hook: () => hooks.at(-1)! };
}

const GREEDY = { prompt: 'Once upon a time', steps: 12, temperature: 0, seed: 1 };

describe('runtime faults in a real worker on WebGPU', () => {
  it('a device lost mid-generation is recovered: new device, model reloaded, job re-run once', async () => {
    const { client, hook } = await faultClient();
    const { summary: clean } = await client.generate(GREEDY);
    expect(clean.text.startsWith('Once upon a time, there was')).toBe(true);
    expect(await hook().backendsCreated()).toBe(1);
    await hook().loseDevice(5);
    const indices: number[] = [];
    const pieces: string[] = [];
    const { summary: again } = await client.generate(GREEDY, {
      onProgress: (t) => {
        indices.push(t.index);
        pieces.push(t.text);
      },
    });
    expect(await hook().backendsCreated()).toBe(2);
    expect(again.text).toBe(clean.text);
    expect(indices).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(GREEDY.prompt + pieces.join('')).toBe(again.text);
  });

  it('a second loss during the re-run fails the job with a message; the next job works', async () => {
    const { client, hook } = await faultClient();
    await hook().loseDevice(3, [3]);
    const err = await client.generate(GREEDY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect((err as Error).message).toBe(DEVICE_LOST_AGAIN);
    // Re-created after each loss: the first backend, then one per loss.
    expect(await hook().backendsCreated()).toBe(3);
    const top = await nextTokens(client, { text: 'Once upon a time' });
    expect(top.getChild(NEXT_TOKEN_COLUMNS.token)!.get(0)).toBe(',');
  });

  it('a WebGPU validation error fails the job with GpuValidationError, never a wrong number', async () => {
    const { client, hook } = await faultClient();
    const clean = await nextTokens(client, { text: 'Once upon a time' });
    await hook().breakBatch();
    const err = await nextTokens(client, { text: 'Once upon a time' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuValidationError);
    expect((err as Error).message).toMatch(/^WebGPU validation error: /);
    // Not a device loss: the same backend goes on and gives the same answer as before.
    const after = await nextTokens(client, { text: 'Once upon a time' });
    expect(await hook().backendsCreated()).toBe(1);
    expect(after.toArray().map((r) => r.toJSON())).toEqual(clean.toArray().map((r) => r.toJSON()));
  });

  it('a worker that crashes fails its job at once; a fresh worker reloads the model for the next', async () => {
    const { client, workers, hook } = await faultClient();
    let crashed = false;
    const run = client.generate(
      { ...GREEDY, steps: 400, temperature: 0.8 },
      {
        onProgress: (t) => {
          if (t.index === 2 && !crashed) {
            crashed = true;
            void hook().crash('test crash in the runtime worker');
          }
        },
      },
    );
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashedError);
    expect((err as Error).message).toMatch(/test crash in the runtime worker/);
    const top = await nextTokens(client, { text: 'Once upon a time' });
    expect(top.getChild(NEXT_TOKEN_COLUMNS.token)!.get(0)).toBe(',');
    expect(workers.length).toBe(2);
    expect(await hook().backendsCreated()).toBe(1);
  });
});
