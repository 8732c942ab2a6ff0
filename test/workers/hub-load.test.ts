/**
 * `loadHub` through the real runtime client and API (MessageChannel, CPU backend, Node) from the
 * hub stand-in: progress with bytes, rate and time left crosses the boundary; a cancel rejects at
 * once, stops the transfer and leaves the model kept under the key usable; errors keep their class
 * and never carry the token; a crashed worker reloads the hub model on the fresh one.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HubFetchError } from '../../runtime/sources/hub-fetch';
import { normalizeHubId, type HubLoadProgress } from '../../workers/hub-types';
import { expose } from 'comlink';
import { createRuntimeApi } from '../../workers/runtime-api';
import { createRuntimeClient, type RuntimeClient, type WorkerLike } from '../../workers/runtime-client';
import { dtypeCopy } from '../helpers/hub-fixtures';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { localClient } from '../helpers/local-runtime';
import { nextTokens } from '../helpers/next-tokens';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const root = path.resolve(import.meta.dirname, '../..');
const fixture = (name: string) => path.join(root, 'test/fixtures/arch', name);
const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-hub-load-'));
const TOKEN = 'hf_worker_token_secret_9012';

let hub: HubServer;
let client: RuntimeClient | undefined;

beforeAll(async () => {
  hub = await startHubServer();
  hub.add('test/gpt2', { dir: fixture('gpt2') });
  hub.add('test/gpt2-f16', { dir: dtypeCopy(fixture('gpt2'), path.join(work, 'gpt2-f16'), 'F16') });
  hub.add('gated/gpt2', { dir: fixture('gpt2'), token: TOKEN });
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  client?.dispose();
  client = undefined;
  hub.bytesPerSecond = 0;
});

describe('loadHub through the runtime client', () => {
  it('normalizes ORG/NAME to hf:ORG/NAME', () => {
    expect(normalizeHubId(' openai-community/gpt2@main ')).toBe('hf:openai-community/gpt2@main');
    expect(normalizeHubId('hf:a/b')).toBe('hf:a/b');
  });

  it('loads with progress and answers next-token requests on the model', async () => {
    client = await localClient();
    const seen: HubLoadProgress[] = [];
    const { summary: loaded } = await client.loadHub(
      { key: 'm', id: 'test/gpt2', endpoint: hub.endpoint },
      { onProgress: (p) => seen.push(p) },
    );
    expect(loaded.key).toBe('m');
    expect(loaded.modelName).toBe('hf:test/gpt2 (model.safetensors)');
    expect(loaded.shape.hfArchitecture).toBe('GPT2LMHeadModel');
    expect(loaded.hub.files.map((f) => f.file)).toEqual([
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'model.safetensors',
    ]);
    const last = seen.filter((p) => p.phase === 'weights').at(-1)!;
    expect(last.done).toBe(last.total);
    expect(last.file).toBe('model.safetensors');
    const top = await nextTokens(client, { text: 'hello', topK: 3 }, { model: 'm' });
    expect(top.numRows).toBe(3);
  });

  it('a cancel rejects at once, stops the transfer, and the model kept under the key stays usable', async () => {
    client = await localClient();
    await client.loadHub({ key: 'm', id: 'hf:test/gpt2', endpoint: hub.endpoint });
    hub.bytesPerSecond = 20_000;
    hub.log.length = 0;
    const controller = new AbortController();
    let weightsStarted!: () => void;
    const started = new Promise<void>((r) => (weightsStarted = r));
    const p = client.loadHub(
      { key: 'm', id: 'hf:test/gpt2-f16', endpoint: hub.endpoint },
      { signal: controller.signal, onProgress: (pr) => pr.phase === 'weights' && weightsStarted() },
    );
    p.catch(() => undefined);
    await started;
    await new Promise((r) => setTimeout(r, 300)); // the tensor data are on their way (slowly)
    const cancelledAt = Date.now();
    controller.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - cancelledAt).toBeLessThan(1000);
    hub.bytesPerSecond = 0;
    // The previous model answers (the next job waits for the cancelled one to settle in the worker).
    const top = await nextTokens(client, { text: 'hello', topK: 2 }, { model: 'm' });
    expect(top.numRows).toBe(2);
    const gets = () => hub.log.filter((r) => r.repo === 'test/gpt2-f16' && r.file === 'model.safetensors');
    await expect.poll(() => gets().some((r) => r.aborted), { timeout: 2000 }).toBe(true);
    const n = hub.log.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.log.length).toBe(n);
  });

  it('a crashed worker is replaced and the hub model is loaded again on the fresh one', async () => {
    const spawned: (WorkerLike & { dispatchEvent(e: Event): boolean })[] = [];
    client = createRuntimeClient({
      createWorker: () => {
        const { port1, port2 } = new MessageChannel();
        expose(createRuntimeApi(), port2 as never);
        const w = Object.assign(port1, {
          terminate: () => {
            port1.close();
            port2.close();
          },
        }) as unknown as WorkerLike & { dispatchEvent(e: Event): boolean };
        spawned.push(w);
        return w;
      },
    });
    await client.init('cpu');
    await client.loadHub({ key: 'm', id: 'test/gpt2', endpoint: hub.endpoint });
    const before = await nextTokens(client, { text: 'hello', topK: 3 }, { model: 'm' });
    spawned[0]!.dispatchEvent(new Event('error'));
    hub.log.length = 0;
    const after = await nextTokens(client, { text: 'hello', topK: 3 }, { model: 'm' });
    expect(spawned).toHaveLength(2);
    expect(after.toArray().map((r) => r.toJSON())).toEqual(before.toArray().map((r) => r.toJSON()));
    expect(hub.log.some((r) => r.repo === 'test/gpt2' && r.file === 'model.safetensors')).toBe(true);
  });

  it('errors keep their class across the boundary and never carry the token', async () => {
    client = await localClient();
    const e = await client
      .loadHub({ id: 'gated/gpt2', endpoint: hub.endpoint, token: `${TOKEN}x` })
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(HubFetchError);
    expect((e as Error).message).toMatch(/token was refused/);
    expect(`${String(e)} ${(e as Error).stack} ${JSON.stringify(e)}`).not.toContain(TOKEN);
    const ok = await client.loadHub({ id: 'gated/gpt2', endpoint: hub.endpoint, token: TOKEN });
    expect(JSON.stringify(ok)).not.toContain(TOKEN);
  });
});
